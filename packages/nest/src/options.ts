import { ErrorCodes, type HttpAuthConfig, type HttpAuthOptions, KeywardError, type OnErrorHook, resolveHttpOptions } from '@keyward/core';
import { defaultAttemptLimiter, defaultKeyward } from '@keyward/env';
import type { ExecutionContext } from '@nestjs/common';

export const PKG = '@keyward/nest';

export type NestErrorHook = OnErrorHook<[context: ExecutionContext]>;

/** What `forRoot` takes and `forRootAsync`'s factory returns: the shared `HttpAuthOptions` plus an error hook. */
export interface ApiKeyModuleOptions extends HttpAuthOptions {
  /**
   * Called before the guard throws (400, 401, 403, 429, 503). Throw your own
   * exception to replace the default one; return to keep it. The response headers
   * (`WWW-Authenticate`, `Retry-After`) are already set. Default: none.
   */
  onError?: NestErrorHook;
}

/** Module-level settings, fixed when the module is declared (not part of the async factory). */
export interface ApiKeyModuleExtras {
  /** Register `ApiKeyGuard` as a global guard (`APP_GUARD`); opt routes out with `@Public()`. Default `false`. */
  globalGuard?: boolean;
  /** Mount the self-service rotation controller: `true` for `POST /api-keys/rotate`, or `{ path }` for `POST /<path>/rotate`. Default `false`. */
  rotation?: boolean | { path?: string };
  /** Make the module global (its guard usable in every module). Default `true`. */
  isGlobal?: boolean;
}

/** The resolved config the guard and the rotation controller read. */
export interface NestApiKeyConfig {
  readonly http: HttpAuthConfig;
  readonly onError: NestErrorHook | undefined;
}

export function invalidOption(option: string, expected: string): KeywardError {
  return new KeywardError(ErrorCodes.INVALID_OPTION, `${PKG}: option "${option}" ${expected}`, { option });
}

export function resolveNestOptions(options: ApiKeyModuleOptions = {}): NestApiKeyConfig {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'must be an object');
  const { onError, ...http } = options;
  if (onError !== undefined && typeof onError !== 'function') throw invalidOption('onError', 'must be a function (error, context)');
  return { http: resolveHttpOptions(http, { packageName: PKG, keyward: defaultKeyward, limiter: defaultAttemptLimiter }), onError };
}
