import type { LiveKey } from './types.js';

export type InvalidReason = 'missing' | 'malformed' | 'unknown' | 'expired' | 'inactive' | 'revoked' | 'unavailable' | 'limited';

export interface ValidKey {
  readonly valid: true;
  readonly clientId: string;
  readonly keyId: string;
  readonly fingerprint: string;
  readonly scopes: readonly string[];
  readonly status: 'active' | 'pending';
  readonly expiresAt: number | null;
  /** For the old key of a rotation: when it stops working (RFC 8594 `Sunset`). Otherwise `null`. */
  readonly sunset: number | null;
  /**
   * For the old key of a rotation: when the rotation started, i.e. when this key was
   * deprecated (RFC 9745 `Deprecation`). `null` for other keys, and when not known.
   */
  readonly deprecatedAt: number | null;
}

export interface InvalidKey {
  readonly valid: false;
  readonly reason: InvalidReason;
  /** Set when the key was well-formed: the fingerprint of its hash. */
  readonly fingerprint: string | null;
  /** Set when the key is known to the store. */
  readonly clientId: string | null;
  readonly keyId: string | null;
}

/** The one result every adapter translates into an HTTP response. */
export type VerifyResult = ValidKey | InvalidKey;

function bare(reason: InvalidReason): InvalidKey {
  return Object.freeze({ valid: false, reason, fingerprint: null, clientId: null, keyId: null });
}

/** Shared, frozen results: rejecting garbage allocates nothing. */
export const MISSING: InvalidKey = bare('missing');
export const MALFORMED: InvalidKey = bare('malformed');
export const UNAVAILABLE: InvalidKey = bare('unavailable');

/**
 * The scopes as a frozen array: the result is handed to every request that presents
 * the key (it lives in the LRU), so a handler that pushes into `req.apiKey.scopes`
 * must not grant that scope to later requests. A frozen array is used as is.
 */
function frozenScopes(scopes: readonly string[]): readonly string[] {
  return Object.isFrozen(scopes) ? scopes : Object.freeze([...scopes]);
}

/** The shared, deeply frozen result for an accepted key (built once per cache entry). */
export function validResult(key: LiveKey): ValidKey {
  const sunset = key.graceUntil === null ? null : key.expiresAt === null ? key.graceUntil : Math.min(key.graceUntil, key.expiresAt);
  return Object.freeze({
    valid: true,
    clientId: key.clientId,
    keyId: key.id,
    fingerprint: key.fingerprint,
    scopes: frozenScopes(key.scopes),
    status: key.status === 'pending' ? 'pending' : 'active',
    expiresAt: key.expiresAt,
    sunset,
    deprecatedAt: sunset === null ? null : (key.deprecatedAt ?? null),
  });
}

/** An accepted key near its expiry (`sunsetBeforeExpiry`): the same result with `sunset` at the expiry. */
export function nearExpiryResult(valid: ValidKey): ValidKey {
  return Object.freeze({ ...valid, sunset: valid.expiresAt });
}

export function refusedResult(key: LiveKey, reason: 'expired' | 'inactive' | 'revoked'): InvalidKey {
  return Object.freeze({ valid: false, reason, fingerprint: key.fingerprint, clientId: key.clientId, keyId: key.id });
}

export function unknownResult(fingerprint: string): InvalidKey {
  return Object.freeze({ valid: false, reason: 'unknown', fingerprint, clientId: null, keyId: null });
}

/**
 * Refused by the failed-attempt gate before any lookup (`verifyFast`'s `gate`): the
 * request's source is over its budget of guesses. Nothing was looked up, so nothing
 * is known about the key.
 */
export interface LimitedKey extends InvalidKey {
  readonly reason: 'limited';
  /** Seconds until the source may try again (HTTP `Retry-After`). */
  readonly retryAfter: number;
}

export function limitedResult(retryAfter: number): LimitedKey {
  return Object.freeze({ valid: false, reason: 'limited', fingerprint: null, clientId: null, keyId: null, retryAfter });
}
