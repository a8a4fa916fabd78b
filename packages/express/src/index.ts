export { ApiKeyHttpError, type AttemptLimiter, HttpErrorCodes, MemoryAttemptLimiter, type ValidKey } from '@keyward/core';
export { type ApiKeyAuthMiddleware, apiKeyAuth, requireScopes } from './api-key-auth.js';
export { type ApiKeyAuthOptions, type ExpressErrorHook, sendError } from './options.js';
export { type ApiKeyRotationRouterOptions, apiKeyRotationRouter } from './rotation-router.js';
export { type SecretScanningRouterOptions, secretScanningRouter } from './secret-scanning.js';
