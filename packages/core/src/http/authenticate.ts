import type { Keyward } from '../keyward.js';
import { errorFields } from '../logger.js';
import type { ValidKey, VerifyResult } from '../verify-result.js';
import type { ApiKeyHttpError } from './api-key-http-error.js';
import type { AttemptLimiter } from './attempt-limiter.js';
import { extractKey, type HttpRequestLike } from './extract-key.js';
import type { HttpAuthConfig } from './http-options.js';
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

/**
 * Source key of the attempt limiter: the address the framework resolved (trusted-proxy
 * aware). Read only when the limiter needs it: resolving it costs a framework real work
 * (Express runs proxy-addr), and most requests come while nothing is being counted.
 */
function sourceOf(request: HttpRequestLike): string {
  return request.ip || 'unknown';
}

/**
 * A limiter that is down must not take authentication down with it: log and let
 * the request through to verification. A synchronous limiter (the in-memory one)
 * answers without a promise, so the common path adds no await.
 */
function limiterCall(keyward: Keyward, what: 'check' | 'hit', limiter: AttemptLimiter, source: string): number | Promise<number> {
  const down = (error: unknown): number => {
    keyward.config.logger.warn({ ...errorFields(error) }, `keyward: attempt limiter ${what} failed; not limiting this request`);
    return 0;
  };
  try {
    const answer = what === 'check' ? limiter.check(source) : limiter.hit(source);
    return typeof answer === 'number' ? answer : answer.catch(down);
  } catch (error) {
    return down(error);
  }
}

/** A `quiet()` that throws counts as "not quiet": the limiter is then asked as usual. */
function isQuiet(limiter: AttemptLimiter): boolean {
  try {
    return limiter.quiet?.() === true;
  } catch {
    return false;
  }
}

function failed(error: ApiKeyHttpError): AuthOutcome {
  return { ok: false, error };
}

/**
 * The whole of an adapter's work, framework-free: extract the key → ask the
 * limiter whether this source is blocked (429) → `keyward.verify(key, request)`
 * (which emits `key.rejected` with the request's method, path and address) →
 * count a failure → check scopes. Never throws for a request's sake: every
 * outcome is an `AuthOutcome`, returned as is when nothing needed I/O (a cached
 * key, an in-memory limiter: the common case, with no promise per request) and as
 * a promise otherwise. A missing key and an unavailable store are not counted as
 * failed attempts; malformed credentials and refused keys are.
 *
 * `request.path` and `request.ip` may be getters: they are read only when needed
 * (a limiter with something counted, a failure to count, an event to emit), so an
 * adapter can hand over a lazy view of its request.
 */
export function authenticate(keyward: Keyward, request: HttpRequestLike, config: HttpAuthConfig): AuthOutcome | Promise<AuthOutcome> {
  const { limiter } = config;
  // A limiter that counts nobody would answer 0 for every source: skip it, and the address.
  if (limiter === undefined || isQuiet(limiter)) return afterLimiter(keyward, request, config);
  const check = limiterCall(keyward, 'check', limiter, sourceOf(request));
  if (typeof check !== 'number')
    return check.then((wait) => (wait > 0 ? failed(tooManyAttemptsError(wait)) : afterLimiter(keyward, request, config)));
  return check > 0 ? failed(tooManyAttemptsError(check)) : afterLimiter(keyward, request, config);
}

/**
 * The rest of `authenticate`, synchronous as long as nothing needs I/O: with a
 * cached key and an in-memory limiter, no promise is made per request.
 */
function afterLimiter(keyward: Keyward, request: HttpRequestLike, config: HttpAuthConfig): AuthOutcome | Promise<AuthOutcome> {
  const repeated = repeatedBearer(keyward, request, config);
  if (repeated !== undefined) return decided(keyward, config, request, repeated);
  const presented = extractKey(request, config.extraction);
  if (presented === undefined) return failed(missingKeyError(config));
  if (typeof presented !== 'string') return counted(keyward, config, request, failed(invalidRequestError(config, presented)));
  // The request is the verify context: the verifier copies method, path and ip out of it only for an event.
  const result = keyward.verifyFast(presented, request, request.connection);
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
    return result.reason === 'unavailable' ? error : counted(keyward, config, request, error);
  }
  if (config.scopes.length > 0 && !hasScopes(result, config.scopes)) return failed(insufficientScopeError(config, config.scopes));
  return { ok: true, key: result, headers: result.sunset === null ? undefined : validKeyHeaders(result) };
}

/** Counts a failed attempt for the request's source, then answers `outcome`. */
function counted(
  keyward: Keyward,
  config: HttpAuthConfig,
  request: HttpRequestLike,
  outcome: AuthOutcome,
): AuthOutcome | Promise<AuthOutcome> {
  const { limiter } = config;
  if (limiter === undefined) return outcome;
  const hit = limiterCall(keyward, 'hit', limiter, sourceOf(request));
  return typeof hit === 'number' ? outcome : hit.then(() => outcome);
}

/**
 * Per-route scope check for a request already authenticated: `undefined` when the
 * key holds every scope, else the 403 (or the 401 when no key was verified).
 */
export function scopeError(config: ResponseConfig, key: ValidKey | undefined, required: readonly string[]): ApiKeyHttpError | undefined {
  if (key === undefined) return missingKeyError(config);
  return hasScopes(key, required) ? undefined : insufficientScopeError(config, required);
}
