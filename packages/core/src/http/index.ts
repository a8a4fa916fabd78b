export { ApiKeyHttpError, type HttpErrorBody, isApiKeyHttpError, type OnErrorHook } from './api-key-http-error.js';
export { type AttemptLimiter, isAttemptLimiter, MemoryAttemptLimiter, type MemoryAttemptLimiterOptions } from './attempt-limiter.js';
export { type AuthOutcome, authenticate, scopeError } from './authenticate.js';
export { challenge, httpDate } from './challenge.js';
export {
  type ExtractionConfig,
  extractKey,
  type HttpHeaders,
  type HttpRequestLike,
  type KeyExtractor,
  MalformedCredentials,
} from './extract-key.js';
export { type HttpErrorCode, HttpErrorCodes } from './http-error-codes.js';
export { type HttpAuthConfig, type HttpAuthOptions, type HttpDefaults, resolveHttpOptions } from './http-options.js';
export { keywardAttemptLimiter, LimiterGate } from './limiter-gate.js';
export { NodeRequestView, type NodeStyleRequest, pathWithoutQuery, rawHeadersOf } from './node-request-view.js';
export { credentialHeaders, type FieldName, fieldName } from './raw-headers.js';
export { setRequestKey } from './request-key.js';
export {
  DEFAULT_RESPONSE_CONFIG,
  deprecationHeader,
  hasScopes,
  insufficientScopeError,
  invalidRequestError,
  missingKeyError,
  type ResponseConfig,
  rejectionError,
  tooManyAttemptsError,
  unavailableError,
  validKeyHeaders,
} from './responses.js';
export {
  MAX_REPORT_BYTES,
  SecretScanningEndpoint,
  type SecretScanningOptions,
  type SecretScanningRequest,
  type SecretScanningResponse,
  secretScanningHandler,
} from './secret-scanning.js';
export { parseIdempotencyKey, type SelfRotationBody, type SelfRotationResponse, selfRotate } from './self-rotate.js';
