import { ErrorCodes } from '../error-codes.js';
import { describeValue, KeywardError } from '../errors.js';
import type { Keyward } from '../keyward.js';
import { type AttemptLimiter, isAttemptLimiter } from './attempt-limiter.js';
import type { ExtractionConfig, KeyExtractor } from './extract-key.js';
import { gateSource, keywardAttemptLimiter, type LimiterGate } from './limiter-gate.js';
import type { ResponseConfig } from './responses.js';

/** Options every adapter (`@keyward/express`, `@keyward/koa`, `@keyward/nest`) accepts. */
export interface HttpAuthOptions {
  /**
   * The keyward instance that verifies keys (or a promise of one). Default: the
   * adapter's zero-config `defaultKeyward()` from `@keyward/env` (SQLite file from
   * `KEYWARD_DATABASE_URL` or `./keyward.db`, plus Redis when `KEYWARD_REDIS_URL` is set).
   */
  keyward?: Keyward | Promise<Keyward>;
  /** Accept `Authorization: Bearer <key>`. Default `true`. Not combinable with `extract`. */
  bearer?: boolean;
  /** Header carrying the bare key (case-insensitive), or `false` for none. Default `'x-api-key'`. Not combinable with `extract`. */
  header?: string | false;
  /** A custom extractor replacing the header rules: returns the key, or `undefined` when there is none. Default: none. */
  extract?: KeyExtractor;
  /** Longest credentials header accepted; longer is a 400. Default `512`. */
  maxHeaderLength?: number;
  /** `realm` of the `WWW-Authenticate` challenge. Default `'api'`. */
  realm?: string;
  /** Scopes every request through this middleware must hold (403 otherwise). Default `[]`. */
  scopes?: readonly string[];
  /**
   * Limits guesses per source address (unknown and malformed keys; a key that
   * verifies and a known retired key never count), or `false` for none. Default:
   * one `MemoryAttemptLimiter` (10 guesses a minute per source) per keyward
   * instance, shared by every route built for it with default options
   * (`keywardAttemptLimiter`); in the zero-config default, one per process, in
   * Redis when `KEYWARD_REDIS_URL` is set. Pass the same limiter to every route to
   * give a source one budget across them.
   */
  limiter?: AttemptLimiter | false;
  /** `Retry-After` (seconds) of a 503 `auth_unavailable`. Default `5`. */
  unavailableRetryAfter?: number;
}

/** The options after validation: what `authenticate` reads. */
export interface HttpAuthConfig extends ResponseConfig {
  readonly extraction: ExtractionConfig;
  readonly scopes: readonly string[];
  /**
   * The failed-attempt gate `authenticate` hands the verifier for `keyward` (built
   * once per keyward instance), or `undefined` with `limiter: false`.
   */
  gate(keyward: Keyward): LimiterGate | undefined;
  /** The keyward instance: synchronous once resolved, a memoised promise before. */
  keyward(): Keyward | Promise<Keyward>;
}

/** What an adapter supplies when the caller gave no `keyward` (its zero-config default). */
export interface HttpDefaults {
  /** Name in error messages, e.g. `@keyward/express`. Default `@keyward/core`. */
  readonly packageName?: string;
  readonly keyward?: () => Keyward | Promise<Keyward>;
  /** The limiter that goes with the default keyward (e.g. Redis when configured); called once per route, it should answer one instance per process. */
  readonly limiter?: () => AttemptLimiter;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]{1,64}$/;
const REALM = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,100}$/;
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]{1,100}$/;
const KNOWN = new Set(['keyward', 'bearer', 'header', 'extract', 'maxHeaderLength', 'realm', 'scopes', 'limiter', 'unavailableRetryAfter']);

function isKeyward(value: unknown): value is Keyward {
  const v = value as Record<string, unknown> | null;
  return typeof v === 'object' && v !== null && typeof v.verify === 'function' && typeof v.rotate === 'function';
}

/** Memoises the keyward source: one promise while resolving, then the instance itself (no await on the hot path). */
function lazyKeyward(source: () => Keyward | Promise<Keyward>, bad: (value: unknown) => Error): () => Keyward | Promise<Keyward> {
  let resolved: Keyward | undefined;
  let pending: Promise<Keyward> | undefined;
  return () => {
    if (resolved !== undefined) return resolved;
    pending ??= Promise.resolve()
      .then(source)
      .then(
        (keyward) => {
          if (!isKeyward(keyward)) throw bad(keyward);
          resolved = keyward;
          return keyward;
        },
        (error: unknown) => {
          pending = undefined; // a failed start (say, a bad URL) is retried by the next request
          throw error;
        },
      );
    return pending;
  };
}

/**
 * Validates adapter options into the config `authenticate` reads. Never mutates
 * `options`; a bad value throws `KEYWARD_INVALID_OPTION` naming the package, the
 * option and the value.
 */
export function resolveHttpOptions(options: HttpAuthOptions = {}, defaults: HttpDefaults = {}): HttpAuthConfig {
  const pkg = defaults.packageName ?? '@keyward/core';
  const invalid = (option: string, value: unknown, expected: string) =>
    new KeywardError(ErrorCodes.INVALID_OPTION, `${pkg}: option "${option}" ${expected}; got ${describeValue(value)}`, { option });
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw invalid('options', options, 'must be an object');
  for (const name of Object.keys(options))
    if (!KNOWN.has(name)) throw invalid(name, (options as Record<string, unknown>)[name], 'is not a known option');
  const {
    keyward,
    bearer,
    header,
    extract,
    realm = 'api',
    scopes = [],
    limiter,
    unavailableRetryAfter = 5,
    maxHeaderLength = 512,
  } = options;

  if (extract !== undefined) {
    if (typeof extract !== 'function') throw invalid('extract', extract, 'must be a function (request) => string | undefined');
    if (bearer !== undefined || header !== undefined)
      throw invalid('extract', 'a function', 'cannot be combined with "bearer" or "header"');
  }
  if (bearer !== undefined && typeof bearer !== 'boolean') throw invalid('bearer', bearer, 'must be a boolean');
  if (header !== undefined && header !== false && !(typeof header === 'string' && HEADER_NAME.test(header.toLowerCase()))) {
    throw invalid('header', header, 'must be a header name (letters, digits, -) or false');
  }
  const headerName = header === false ? undefined : (header ?? 'x-api-key').toLowerCase();
  if (headerName === 'authorization') throw invalid('header', header, 'must not be "authorization" (use the "bearer" option)');
  const acceptsBearer = extract === undefined && bearer !== false;
  if (extract === undefined && !acceptsBearer && headerName === undefined)
    throw invalid('header', header, 'cannot be false while "bearer" is false (no way to present a key)');
  if (!(Number.isInteger(maxHeaderLength) && maxHeaderLength >= 64 && maxHeaderLength <= 16_384)) {
    throw invalid('maxHeaderLength', maxHeaderLength, 'must be an integer from 64 to 16384');
  }
  if (typeof realm !== 'string' || !REALM.test(realm))
    throw invalid('realm', realm, 'must be 1-100 printable characters without quotes or backslashes');
  if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string' && SCOPE.test(s))) {
    throw invalid('scopes', scopes, 'must be an array of scope tokens (printable, no spaces or quotes)');
  }
  if (limiter !== undefined && limiter !== false && !isAttemptLimiter(limiter))
    throw invalid('limiter', limiter, 'must be an AttemptLimiter (check/hit/reset) or false');
  if (
    !(
      typeof unavailableRetryAfter === 'number' &&
      Number.isInteger(unavailableRetryAfter) &&
      unavailableRetryAfter >= 1 &&
      unavailableRetryAfter <= 86_400
    )
  ) {
    throw invalid('unavailableRetryAfter', unavailableRetryAfter, 'must be a whole number of seconds from 1 to 86400');
  }

  const badKeyward = (value: unknown) => invalid('keyward', value, 'must be a Keyward instance (createKeyward(...))');
  let source: () => Keyward | Promise<Keyward>;
  if (keyward !== undefined) {
    if (!isKeyward(keyward) && !(keyward instanceof Promise)) throw badKeyward(keyward);
    source = () => keyward;
  } else if (defaults.keyward !== undefined) {
    source = defaults.keyward;
  } else {
    throw invalid('keyward', keyward, 'is required');
  }
  const useDefaultLimiter = limiter === undefined && keyward === undefined && defaults.limiter !== undefined;
  let limiterOf: ((keyward: Keyward) => AttemptLimiter) | undefined;
  if (limiter !== undefined && limiter !== false) limiterOf = () => limiter;
  else if (limiter === undefined) {
    // One budget per source for every route: the zero-config default is one per process, any other one per keyward instance.
    const fixed = useDefaultLimiter ? defaults.limiter?.() : undefined;
    limiterOf = fixed === undefined ? keywardAttemptLimiter : () => fixed;
  }

  return {
    extraction: { bearer: acceptsBearer, header: extract === undefined ? headerName : undefined, maxLength: maxHeaderLength, extract },
    scheme: acceptsBearer || extract !== undefined ? 'Bearer' : 'ApiKey',
    realm,
    scopes: [...scopes],
    gate: gateSource(limiterOf),
    unavailableRetryAfter,
    keyward: isKeyward(keyward) ? () => keyward : lazyKeyward(source, badKeyward),
  };
}
