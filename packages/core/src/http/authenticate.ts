import type { Keyward } from '../keyward.js';
import { errorFields } from '../logger.js';
import type { ValidKey, VerifyResult } from '../verify-result.js';
import type { ApiKeyHttpError } from './api-key-http-error.js';
import { extractKey, type HttpRequestLike } from './extract-key.js';
import type { HttpAuthConfig } from './http-options.js';
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

/** Source key of the attempt limiter: the address the framework resolved (trusted-proxy aware). */
function sourceOf(request: HttpRequestLike): string {
  return request.ip || 'unknown';
}

/**
 * A limiter that is down must not take authentication down with it: log and let
 * the request through to verification. A synchronous limiter (the in-memory one)
 * answers without a promise, so the common path adds no await.
 */
function limiterCall(keyward: Keyward, what: string, call: () => number | Promise<number>): number | Promise<number> {
  const down = (error: unknown): number => {
    keyward.config.logger.warn({ ...errorFields(error) }, `keyward: attempt limiter ${what} failed; not limiting this request`);
    return 0;
  };
  try {
    const answer = call();
    return typeof answer === 'number' ? answer : answer.catch(down);
  } catch (error) {
    return down(error);
  }
}

function failed(error: ApiKeyHttpError): AuthOutcome {
  return { ok: false, error };
}

/**
 * The whole of an adapter's work, framework-free: extract the key → ask the
 * limiter whether this source is blocked (429) → `keyward.verify(key, { method,
 * path, ip })` (which emits `key.rejected` with that context) → count a failure →
 * check scopes. Never throws for a request's sake: every outcome is an
 * `AuthOutcome`, returned as is when nothing needed I/O (a cached key, an
 * in-memory limiter: the common case, with no promise per request) and as a
 * promise otherwise. A missing key and an unavailable store are not counted as
 * failed attempts; malformed credentials and refused keys are.
 */
export function authenticate(keyward: Keyward, request: HttpRequestLike, config: HttpAuthConfig): AuthOutcome | Promise<AuthOutcome> {
  const { limiter } = config;
  if (limiter === undefined) return afterLimiter(keyward, request, config, '');
  const source = sourceOf(request);
  const check = limiterCall(keyward, 'check', () => limiter.check(source));
  if (typeof check !== 'number')
    return check.then((wait) => (wait > 0 ? failed(tooManyAttemptsError(wait)) : afterLimiter(keyward, request, config, source)));
  return check > 0 ? failed(tooManyAttemptsError(check)) : afterLimiter(keyward, request, config, source);
}

/**
 * The rest of `authenticate`, synchronous as long as nothing needs I/O: with a
 * cached key and an in-memory limiter, no promise is made per request.
 */
function afterLimiter(
  keyward: Keyward,
  request: HttpRequestLike,
  config: HttpAuthConfig,
  source: string,
): AuthOutcome | Promise<AuthOutcome> {
  const presented = extractKey(request, config.extraction);
  if (presented === undefined) return failed(missingKeyError(config));
  if (typeof presented !== 'string') return counted(keyward, config, source, failed(invalidRequestError(config, presented)));
  const result = keyward.verifyFast(presented, { method: request.method, path: request.path, ip: request.ip });
  return result instanceof Promise ? result.then((r) => decided(keyward, config, source, r)) : decided(keyward, config, source, result);
}

function decided(keyward: Keyward, config: HttpAuthConfig, source: string, result: VerifyResult): AuthOutcome | Promise<AuthOutcome> {
  if (!result.valid) {
    const error = failed(rejectionError(config, result));
    return result.reason === 'unavailable' ? error : counted(keyward, config, source, error);
  }
  if (config.scopes.length > 0 && !hasScopes(result, config.scopes)) return failed(insufficientScopeError(config, config.scopes));
  // The clock is read only for a key in its grace period (the Deprecation header).
  return { ok: true, key: result, headers: result.sunset === null ? undefined : validKeyHeaders(result, keyward.config.clock.now()) };
}

/** Counts a failed attempt for the source, then answers `outcome`. */
function counted(keyward: Keyward, config: HttpAuthConfig, source: string, outcome: AuthOutcome): AuthOutcome | Promise<AuthOutcome> {
  const { limiter } = config;
  if (limiter === undefined) return outcome;
  const hit = limiterCall(keyward, 'hit', () => limiter.hit(source));
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
