import {
  ErrorCodes,
  type FieldName,
  fieldName,
  type HttpAuthConfig,
  type HttpAuthOptions,
  KeywardError,
  type OnErrorHook,
  resolveHttpOptions,
} from '@keyward/core';
import { defaultAttemptLimiter, defaultKeyward } from '@keyward/env';
import type { Context } from 'hono';

export const PKG = '@keyward/hono';

export type HonoErrorHook = OnErrorHook<[c: Context]>;

/** Options of `apiKeyAuth()`: the shared `HttpAuthOptions` (see `@keyward/core`) plus Hono's parts. */
export interface ApiKeyAuthOptions extends HttpAuthOptions {
  /**
   * Takes over an error response (400, 401, 403, 429, 503): return a `Response`. Default:
   * the error's status, headers and JSON body `{ error, message }`. Throw the error to
   * hand it to `app.onError` instead (it carries `status` and `headers`).
   */
  onError?: HonoErrorHook;
  /**
   * The client's address, for the failed-attempt limiter and events. Default: the
   * socket's address on `@hono/node-server`, else none (one shared budget). Behind a
   * proxy, read the header your proxy sets, and only that one: Hono has no `trust proxy`.
   */
  clientIp?: (c: Context) => string | undefined;
}

export interface HonoConfig {
  readonly http: HttpAuthConfig;
  readonly onError: HonoErrorHook;
  readonly clientIp: ((c: Context) => string | undefined) | undefined;
  /** The key header's name, made once for the walk over Node's raw headers. */
  readonly keyHeader: FieldName | undefined;
}

/** The error as a JSON response: status, headers, `{ error, message }`. */
export const sendError: HonoErrorHook = (error, c) => c.json(error.body, error.status as 400, error.headers);

export function invalidOption(option: string, expected: string): KeywardError {
  return new KeywardError(ErrorCodes.INVALID_OPTION, `${PKG}: option "${option}" ${expected}`, { option });
}

/** Validates the options (never mutating them); the zero-config default comes from `@keyward/env`. */
export function resolveHonoOptions(options: ApiKeyAuthOptions = {}): HonoConfig {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'must be an object');
  const { onError, clientIp, ...http } = options;
  if (onError !== undefined && typeof onError !== 'function') throw invalidOption('onError', 'must be a function (error, c) => Response');
  if (clientIp !== undefined && typeof clientIp !== 'function')
    throw invalidOption('clientIp', 'must be a function (c) => string | undefined');
  const resolved = resolveHttpOptions(http, { packageName: PKG, keyward: defaultKeyward, limiter: defaultAttemptLimiter });
  const { header } = resolved.extraction;
  return { http: resolved, onError: onError ?? sendError, clientIp, keyHeader: header === undefined ? undefined : fieldName(header) };
}
