import type { InvalidKey, LimitedKey, ValidKey } from '../verify-result.js';
import { ApiKeyHttpError } from './api-key-http-error.js';
import { challenge, httpDate, retryAfterSeconds } from './challenge.js';
import type { MalformedCredentials } from './extract-key.js';
import { HttpErrorCodes as C } from './http-error-codes.js';

/** The parts of the resolved options that shape responses. */
export interface ResponseConfig {
  /** Challenge scheme: `Bearer`, or `ApiKey` when only a key header is accepted. */
  readonly scheme: string;
  readonly realm: string;
  /** `Retry-After` seconds of a 503. */
  readonly unavailableRetryAfter: number;
}

const INVALID_TOKEN = (description: string) => ({ error: 'invalid_token', error_description: description });

/** 401 `api_key_missing`: no key presented (the challenge carries no error, RFC 6750 §3.1). */
export function missingKeyError(config: ResponseConfig): ApiKeyHttpError {
  return new ApiKeyHttpError(401, C.API_KEY_MISSING, 'An API key is required.', {
    'WWW-Authenticate': challenge(config.scheme, config.realm),
  });
}

/** 400 `invalid_request`: ambiguous or malformed credentials. */
export function invalidRequestError(config: ResponseConfig, problem: MalformedCredentials | string): ApiKeyHttpError {
  const message = typeof problem === 'string' ? problem : problem.message;
  return new ApiKeyHttpError(400, C.INVALID_REQUEST, message, {
    'WWW-Authenticate': challenge(config.scheme, config.realm, { error: 'invalid_request' }),
  });
}

/** 429 `too_many_attempts` with `Retry-After`. */
export function tooManyAttemptsError(seconds: number): ApiKeyHttpError {
  const wait = retryAfterSeconds(seconds);
  return new ApiKeyHttpError(429, C.TOO_MANY_ATTEMPTS, `Too many failed attempts; try again in ${wait} s.`, { 'Retry-After': wait });
}

/** 503 `auth_unavailable` with `Retry-After`: fail closed, never 401 and never a pass. */
export function unavailableError(config: ResponseConfig): ApiKeyHttpError {
  return new ApiKeyHttpError(503, C.AUTH_UNAVAILABLE, 'API key verification is temporarily unavailable; try again later.', {
    'Retry-After': retryAfterSeconds(config.unavailableRetryAfter),
  });
}

/** 403 `insufficient_scope`, naming the scopes the route needs (RFC 6750 §3). */
export function insufficientScopeError(config: ResponseConfig, required: readonly string[]): ApiKeyHttpError {
  const scope = required.join(' ');
  return new ApiKeyHttpError(403, C.INSUFFICIENT_SCOPE, `The API key lacks a required scope: ${scope}.`, {
    'WWW-Authenticate': challenge(config.scheme, config.realm, { error: 'insufficient_scope', scope }),
  });
}

/** Maps one refused `VerifyResult` to its response, exactly per the DESIGN.md table. */
export function rejectionError(config: ResponseConfig, result: InvalidKey): ApiKeyHttpError {
  const { scheme, realm } = config;
  switch (result.reason) {
    case 'missing':
      return missingKeyError(config);
    case 'unavailable':
      return unavailableError(config);
    case 'limited':
      return tooManyAttemptsError((result as LimitedKey).retryAfter);
    case 'expired':
    case 'inactive': {
      const message =
        result.reason === 'expired' ? 'The API key has expired.' : 'The API key was replaced by a newer key and no longer works.';
      return new ApiKeyHttpError(401, C.API_KEY_EXPIRED, message, {
        'WWW-Authenticate': challenge(scheme, realm, INVALID_TOKEN('The API key has expired')),
      });
    }
    case 'revoked':
      return new ApiKeyHttpError(401, C.API_KEY_REVOKED, 'The API key has been revoked.', {
        'WWW-Authenticate': challenge(scheme, realm, INVALID_TOKEN('The API key has been revoked')),
      });
    default:
      // 'malformed' (bad format or checksum) and 'unknown'
      return new ApiKeyHttpError(401, C.API_KEY_INVALID, 'The API key is not valid.', {
        'WWW-Authenticate': challenge(scheme, realm, { error: 'invalid_token' }),
      });
  }
}

/** True when `key` holds every scope in `required`. */
export function hasScopes(key: Pick<ValidKey, 'scopes'>, required: readonly string[]): boolean {
  for (const scope of required) if (!key.scopes.includes(scope)) return false;
  return true;
}

/** RFC 9745 `Deprecation`: `@` and the Unix time, in seconds, the deprecation took effect. */
export function deprecationHeader(at: number): string {
  return `@${Math.floor(at / 1000)}`;
}

/**
 * Headers for an accepted key: the old key of a rotation, during grace, gets
 * `Sunset` (RFC 8594: the HTTP-date its grace ends) and `Deprecation` (RFC 9745:
 * when the rotation started, the same on every response). `undefined` for every
 * other key, so nothing is allocated.
 */
export function validKeyHeaders(key: ValidKey): Readonly<Record<string, string>> | undefined {
  if (key.sunset === null) return undefined;
  const sunset = httpDate(key.sunset);
  return key.deprecatedAt === null ? { Sunset: sunset } : { Sunset: sunset, Deprecation: deprecationHeader(key.deprecatedAt) };
}

/** The response settings of the default options (`realm="api"`, Bearer): for helpers used without a config. */
export const DEFAULT_RESPONSE_CONFIG: ResponseConfig = Object.freeze({ scheme: 'Bearer', realm: 'api', unavailableRetryAfter: 5 });
