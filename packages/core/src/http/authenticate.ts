import type { Keyward } from '../keyward.js';
import type { ValidKey, VerifyResult } from '../verify-result.js';
import type { ApiKeyHttpError } from './api-key-http-error.js';
import { extractKey, type HttpRequestLike } from './extract-key.js';
import type { HttpAuthConfig } from './http-options.js';
import type { LimiterGate } from './limiter-gate.js';
import { AUTHORIZATION, isRepeated } from './raw-headers.js';
import type { ResponseConfig } from './responses.js';
import {
  hasScopes,
  insufficientScopeError,
  invalidRequestError,
  missingKeyError,
  rejectionError,
  tooManyAttemptsError,
  validKeyHeaders,
} from './responses.js';

/** What an adapter does with a request: pass it on (with these headers) or answer with the error. */
export type AuthOutcome =
  | { readonly ok: true; readonly key: ValidKey; readonly headers: Readonly<Record<string, string>> | undefined }
  | { readonly ok: false; readonly error: ApiKeyHttpError };

function failed(error: ApiKeyHttpError): AuthOutcome {
  return { ok: false, error };
}

/**
 * The whole of an adapter's work, framework-free: extract the key →
 * `keyward.verifyFast(key, request, connection, gate)` (which emits `key.rejected`
 * with the request's method, path and address) → check scopes. Verification comes
 * first, and the failed-attempt limiter is asked only about guesses: the verifier
 * reserves an attempt before it looks up a hash this process does not know (429
 * `too_many_attempts`, and no lookup, when the source is over its budget) and gives
 * it back when the key turns out valid or retired; malformed credentials are
 * counted here. A key that verifies is never refused by the limiter; a missing key,
 * a known retired key and an unavailable store are not counted.
 *
 * Never throws for a request's sake: every outcome is an `AuthOutcome`, returned as
 * is when nothing needed I/O (a cached key: the common case, with no promise per
 * request) and as a promise otherwise. `request.path` and `request.ip` may be
 * getters: they are read only when needed (a guess to count, an event to emit), so
 * an adapter can hand over a lazy view of its request.
 */
export function authenticate(keyward: Keyward, request: HttpRequestLike, config: HttpAuthConfig): AuthOutcome | Promise<AuthOutcome> {
  const repeated = repeatedBearer(keyward, request, config);
  if (repeated !== undefined) return decided(keyward, config, request, repeated);
  const presented = extractKey(request, config.extraction);
  if (presented === undefined) return failed(missingKeyError(config));
  if (typeof presented !== 'string') return counted(config.gate(keyward), request, failed(invalidRequestError(config, presented)));
  // The request is the verify context: the verifier copies method, path and ip out of it only for an event or the gate.
  const result = keyward.verifyFast(presented, request, request.connection, config.gate(keyward));
  return result instanceof Promise ? result.then((r) => decided(keyward, config, request, r)) : decided(keyward, config, request, result);
}

/**
 * The common request, answered with the least work: one `Authorization: Bearer <key>`
 * header, no key header, and a key this connection presented last and had verified (the
 * verifier's per-connection memo, compared in constant time). Such a token passed
 * `extractKey`'s syntax checks when it was first presented, so they are skipped;
 * anything else is `undefined` and takes the full path (which decides the same for
 * this request, only slower).
 */
function repeatedBearer(keyward: Keyward, request: HttpRequestLike, config: HttpAuthConfig): VerifyResult | undefined {
  const { connection } = request;
  const { extraction } = config;
  if (connection === undefined || !extraction.bearer || extraction.extract !== undefined) return undefined;
  const { headers } = request;
  const authorization = headers.authorization;
  if (typeof authorization !== 'string' || authorization.length > extraction.maxLength || !authorization.startsWith('Bearer '))
    return undefined;
  if (extraction.header !== undefined && headers[extraction.header] !== undefined) return undefined;
  // A second Authorization header (which Node drops from `headers`) may carry another key: the full path decides.
  if (isRepeated(request.rawHeaders, AUTHORIZATION)) return undefined;
  return keyward.verifyRepeat(authorization, 7, request, connection);
}

function decided(
  keyward: Keyward,
  config: HttpAuthConfig,
  request: HttpRequestLike,
  result: VerifyResult,
): AuthOutcome | Promise<AuthOutcome> {
  if (!result.valid) {
    const error = failed(rejectionError(config, result));
    // Unknown keys were counted by the gate before their lookup; a malformed key never reaches it (no hash, no I/O).
    return result.reason === 'malformed' ? counted(config.gate(keyward), request, error) : error;
  }
  if (config.scopes.length > 0 && !hasScopes(result, config.scopes)) return failed(insufficientScopeError(config, config.scopes));
  return { ok: true, key: result, headers: result.sunset === null ? undefined : validKeyHeaders(result) };
}

/** Counts a guess that needed no lookup (malformed credentials): `outcome`, or 429 once the source is over its budget. */
function counted(gate: LimiterGate | undefined, request: HttpRequestLike, outcome: AuthOutcome): AuthOutcome | Promise<AuthOutcome> {
  if (gate === undefined) return outcome;
  const wait = gate.reserve(request);
  if (typeof wait === 'number') return wait > 0 ? failed(tooManyAttemptsError(wait)) : outcome;
  return wait.then((w) => (w > 0 ? failed(tooManyAttemptsError(w)) : outcome));
}

/**
 * Per-route scope check for a request already authenticated: `undefined` when the
 * key holds every scope, else the 403 (or the 401 when no key was verified).
 */
export function scopeError(config: ResponseConfig, key: ValidKey | undefined, required: readonly string[]): ApiKeyHttpError | undefined {
  if (key === undefined) return missingKeyError(config);
  return hasScopes(key, required) ? undefined : insufficientScopeError(config, required);
}
