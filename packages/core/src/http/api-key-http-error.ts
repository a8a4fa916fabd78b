import type { HttpErrorCode } from './http-error-codes.js';

/** The JSON body of every keyward error response. */
export interface HttpErrorBody {
  readonly error: HttpErrorCode;
  readonly message: string;
}

/**
 * The one HTTP error every adapter uses. It carries `status` (and `statusCode`),
 * the stable `code` and the response `headers`, so it works as is in every framework:
 * Express's final handler and Koa's `ctx.onerror` both honour `err.status` and
 * `err.headers` (Koa clears headers set before a throw, so they travel on the error),
 * and `expose` lets them show the (safe) message. The message never contains a key.
 */
export class ApiKeyHttpError extends Error {
  override readonly name = 'ApiKeyHttpError';
  readonly status: number;
  readonly statusCode: number;
  readonly code: HttpErrorCode;
  readonly headers: Readonly<Record<string, string>>;
  /** The message is meant for the client (http-errors / Koa convention). */
  readonly expose = true;

  constructor(status: number, code: HttpErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.statusCode = status;
    this.code = code;
    this.headers = Object.freeze({ ...headers });
  }

  /** The response body: `{ error, message }`. */
  get body(): HttpErrorBody {
    return { error: this.code, message: this.message };
  }

  toJSON(): HttpErrorBody {
    return this.body;
  }
}

export function isApiKeyHttpError(error: unknown): error is ApiKeyHttpError {
  return error instanceof ApiKeyHttpError;
}

/**
 * A framework's hook to take over an error response. The arguments after the error
 * are the framework's own (`req, res, next` in Express, `ctx, next` in Koa, the
 * `ExecutionContext` in Nest); see each adapter's README.
 */
export type OnErrorHook<Args extends unknown[] = []> = (error: ApiKeyHttpError, ...args: Args) => unknown;
