export { ApiKeyHttpError, type AttemptLimiter, HttpErrorCodes, MemoryAttemptLimiter, type ValidKey } from '@keyward/core';
export { type ApiKeyAuthMiddleware, apiKeyAuth, requireScopes } from './api-key-auth.js';
export { type ApiKeyAuthOptions, type KoaErrorHook, sendError } from './options.js';
export { type ApiKeyRotationOptions, apiKeyRotation } from './rotation.js';
export { type SecretScanningOptionsKoa, secretScanning } from './secret-scanning.js';
