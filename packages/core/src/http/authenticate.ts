import type { Keyward } from '../keyward.js';
import { errorFields } from '../logger.js';
import type { ValidKey } from '../verify-result.js';
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
 * `AuthOutcome`. A missing key and an unavailable store are not counted as
 * failed attempts; malformed credentials and refused keys are.
 */
export async function authenticate(keyward: Keyward, request: HttpRequestLike, config: HttpAuthConfig): Promise<AuthOutcome> {
  const presented = extractKey(request, config.extraction);
  const { limiter } = config;
  const source = sourceOf(request);
  if (limiter !== undefined) {
    const check = limiterCall(keyward, 'check', () => limiter.check(source));
    const wait = typeof check === 'number' ? check : await check;
    if (wait > 0) return failed(tooManyAttemptsError(wait));
  }
  if (presented === undefined) return failed(missingKeyError(config));
  if (typeof presented !== 'string') {
    if (limiter !== undefined) await limiterCall(keyward, 'hit', () => limiter.hit(source));
    return failed(invalidRequestError(config, presented));
  }
  const result = await keyward.verify(presented, { method: request.method, path: request.path, ip: request.ip });
  if (!result.valid) {
    if (limiter !== undefined && result.reason !== 'unavailable') await limiterCall(keyward, 'hit', () => limiter.hit(source));
    return failed(rejectionError(config, result));
  }
  if (config.scopes.length > 0 && !hasScopes(result, config.scopes)) return failed(insufficientScopeError(config, config.scopes));
  // The clock is read only for a key in its grace period (the Deprecation header).
  return { ok: true, key: result, headers: result.sunset === null ? undefined : validKeyHeaders(result, keyward.config.clock.now()) };
}

/**
 * Per-route scope check for a request already authenticated: `undefined` when the
 * key holds every scope, else the 403 (or the 401 when no key was verified).
 */
export function scopeError(config: ResponseConfig, key: ValidKey | undefined, required: readonly string[]): ApiKeyHttpError | undefined {
  if (key === undefined) return missingKeyError(config);
  return hasScopes(key, required) ? undefined : insufficientScopeError(config, required);
}
