/**
 * The stable `error` codes of keyward's HTTP responses (the JSON body's `error`
 * field), shared by every framework adapter. Codes never change meaning once
 * published; messages may be reworded. See DESIGN.md, "HTTP behaviour of the adapters".
 */
export const HttpErrorCodes = {
  /** 401: no key was presented. */
  API_KEY_MISSING: 'api_key_missing',
  /** 400: the credentials are ambiguous or malformed (empty Bearer, two different keys, an over-long header...). */
  INVALID_REQUEST: 'invalid_request',
  /** 401: the key is malformed, has a bad checksum, or is unknown. */
  API_KEY_INVALID: 'api_key_invalid',
  /** 401: the key was rotated out (inactive, grace over) or is past its expiry. */
  API_KEY_EXPIRED: 'api_key_expired',
  /** 401: the key was revoked. */
  API_KEY_REVOKED: 'api_key_revoked',
  /** 403: the key is valid but lacks a required scope. */
  INSUFFICIENT_SCOPE: 'insufficient_scope',
  /** 429: too many failed attempts from this source; see `Retry-After`. */
  TOO_MANY_ATTEMPTS: 'too_many_attempts',
  /** 503: the key store and cache are unreachable and the key is not cached; see `Retry-After`. */
  AUTH_UNAVAILABLE: 'auth_unavailable',
  /** 409 (self-service rotation): a rotation for this client is already in progress. */
  ROTATION_IN_PROGRESS: 'rotation_in_progress',
  /** 409 (self-service rotation): this key cannot be rotated (it is the pending key, or already being rotated). */
  ROTATION_NOT_ALLOWED: 'rotation_not_allowed',
} as const;

export type HttpErrorCode = (typeof HttpErrorCodes)[keyof typeof HttpErrorCodes];
