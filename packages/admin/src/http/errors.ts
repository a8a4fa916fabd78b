import { ErrorCodes, isKeywardError } from '@keyward/core';
import type { ZodError } from 'zod';
import { AdminUnavailableError } from '../auth/admin-keys.js';
import { BodyError } from './admin-request.js';

/** An error as the console answers it: an HTTP status, a stable code and a message safe to show. */
export interface AdminFailure {
  readonly status: number;
  readonly error: string;
  readonly message: string;
}

/**
 * Codes of the admin API beyond the core's `KEYWARD_*` codes (which pass through as
 * they are): stable, documented in the README and the OpenAPI document.
 */
export const AdminErrorCodes = {
  /** 401: no admin credentials. */
  UNAUTHENTICATED: 'api_key_missing',
  /** 401: the admin key or session was refused. */
  INVALID_CREDENTIALS: 'api_key_invalid',
  /** 403: the principal lacks `keyward:write` (or `keyward:read`). */
  INSUFFICIENT_SCOPE: 'insufficient_scope',
  /** 403: an unsafe method without `Sec-Fetch-Site: same-origin` (and not a cookie-less Bearer call). */
  CROSS_SITE: 'cross_site_request',
  /** 403: the console has no `authorize` hook and no admin keys, and the request is not from loopback. */
  LOOPBACK_ONLY: 'loopback_only',
  /** 400: the request failed its schema. */
  INVALID_REQUEST: 'invalid_request',
  /** 404: no such route. */
  NOT_FOUND: 'not_found',
  /** 405: the route exists, not with this method. */
  METHOD_NOT_ALLOWED: 'method_not_allowed',
  /** 413 / 415: body too large, or of a type the console does not read. */
  BAD_BODY: 'invalid_body',
} as const;

const STATUS: Record<string, number> = {
  [ErrorCodes.INVALID_OPTION]: 400,
  [ErrorCodes.INVALID_DURATION]: 400,
  [ErrorCodes.INVALID_ARGUMENT]: 400,
  [ErrorCodes.ILLEGAL_TRANSITION]: 409,
  [ErrorCodes.CONFLICT]: 409,
  [ErrorCodes.ROTATION_IN_PROGRESS]: 409,
  [ErrorCodes.AMBIGUOUS_KEY]: 409,
  [ErrorCodes.NOT_FOUND]: 404,
  [ErrorCodes.UNAVAILABLE]: 503,
};

export class AdminHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function zodFailure(error: ZodError): AdminFailure {
  const first = error.issues[0];
  const where = first && first.path.length > 0 ? `${first.path.join('.')}: ` : '';
  return { status: 400, error: AdminErrorCodes.INVALID_REQUEST, message: `${where}${first?.message ?? 'invalid request'}` };
}

/** Any thrown value as an answer. Unknown errors are a 500 with a generic message (the log has the rest). */
export function failureOf(error: unknown): AdminFailure {
  if (error instanceof AdminHttpError) return { status: error.status, error: error.code, message: error.message };
  if (isKeywardError(error)) return { status: STATUS[error.code] ?? 500, error: error.code, message: error.message };
  if (error instanceof BodyError) return { status: error.status, error: AdminErrorCodes.BAD_BODY, message: error.message };
  if (error instanceof AdminUnavailableError)
    return { status: 503, error: ErrorCodes.UNAVAILABLE, message: 'the key store is unavailable' };
  if (error instanceof Error && error.name === 'ZodError') return zodFailure(error as ZodError);
  return { status: 500, error: 'internal_error', message: 'the console failed to answer; see the server log' };
}
