import { ErrorCodes, type HttpAuthConfig, type HttpAuthOptions, KeywardError, type OnErrorHook, resolveHttpOptions } from '@keyward/core';
import { defaultAttemptLimiter, defaultKeyward } from '@keyward/env';
import type { Context, Next } from 'koa';

export const PKG = '@keyward/koa';

export type KoaErrorHook = OnErrorHook<[ctx: Context, next: Next]>;

/** Options of `apiKeyAuth()`: the shared `HttpAuthOptions` (see `@keyward/core`) plus an error hook. */
export interface ApiKeyAuthOptions extends HttpAuthOptions {
  /**
   * Takes over an error response (400, 401, 403, 429, 503). Default: set the error's
   * status, headers and JSON body `{ error, message }` on `ctx`. Throw the error to
   * hand it to your error middleware instead: it carries `status`, `expose` and
   * `headers` (Koa clears headers set before a throw, so they travel on the error).
   */
  onError?: KoaErrorHook;
}

export interface KoaConfig {
  readonly http: HttpAuthConfig;
  readonly onError: KoaErrorHook;
}

/** Writes a keyward error as the response: status, headers, JSON `{ error, message }`. */
export const sendError: KoaErrorHook = (error, ctx) => {
  ctx.status = error.status;
  ctx.set(error.headers);
  ctx.body = error.body;
};

export function invalidOption(option: string, expected: string): KeywardError {
  return new KeywardError(ErrorCodes.INVALID_OPTION, `${PKG}: option "${option}" ${expected}`, { option });
}

/** Validates the options (never mutating them); the zero-config default comes from `@keyward/env`. */
export function resolveKoaOptions(options: ApiKeyAuthOptions = {}): KoaConfig {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'must be an object');
  const { onError, ...http } = options;
  if (onError !== undefined && typeof onError !== 'function') throw invalidOption('onError', 'must be a function (error, ctx, next)');
  return {
    http: resolveHttpOptions(http, { packageName: PKG, keyward: defaultKeyward, limiter: defaultAttemptLimiter }),
    onError: onError ?? sendError,
  };
}
