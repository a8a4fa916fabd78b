import { ErrorCodes, type HttpAuthConfig, type HttpAuthOptions, KeywardError, type OnErrorHook, resolveHttpOptions } from '@keyward/core';
import { defaultAttemptLimiter, defaultKeyward } from '@keyward/env';
import type { NextFunction, Request, Response } from 'express';

export const PKG = '@keyward/express';

export type ExpressErrorHook = OnErrorHook<[req: Request, res: Response, next: NextFunction]>;

/** Options of `apiKeyAuth()`: the shared `HttpAuthOptions` (see `@keyward/core`) plus an error hook. */
export interface ApiKeyAuthOptions extends HttpAuthOptions {
  /**
   * Takes over an error response (400, 401, 403, 429, 503). Default: answer with the
   * error's status, headers and JSON body `{ error, message }`. Call `next(error)` to
   * hand it to your error handler instead (Express honours `error.status` and `error.headers`).
   */
  onError?: ExpressErrorHook;
}

export interface ExpressConfig {
  readonly http: HttpAuthConfig;
  readonly onError: ExpressErrorHook;
}

/** Writes a keyward error as the response: status, headers, JSON `{ error, message }`. */
export const sendError: ExpressErrorHook = (error, _req, res) => {
  res.status(error.status).set(error.headers).json(error.body);
};

export function invalidOption(option: string, expected: string): KeywardError {
  return new KeywardError(ErrorCodes.INVALID_OPTION, `${PKG}: option "${option}" ${expected}`, { option });
}

/** Validates the options (never mutating them); the zero-config default comes from `@keyward/env`. */
export function resolveExpressOptions(options: ApiKeyAuthOptions = {}): ExpressConfig {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'must be an object');
  const { onError, ...http } = options;
  if (onError !== undefined && typeof onError !== 'function') throw invalidOption('onError', 'must be a function (error, req, res, next)');
  return {
    http: resolveHttpOptions(http, { packageName: PKG, keyward: defaultKeyward, limiter: defaultAttemptLimiter }),
    onError: onError ?? sendError,
  };
}
