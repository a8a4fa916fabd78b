export { ApiKeyHttpError, type AttemptLimiter, HttpErrorCodes, MemoryAttemptLimiter, type ValidKey } from '@keyward/core';
export { type ApiKeyAuthMiddleware, type ApiKeyEnv, type ApiKeyVariables, apiKeyAuth, requireScopes } from './api-key-auth.js';
export { type ApiKeyAuthOptions, type HonoErrorHook, sendError } from './options.js';
export { apiKeyRotation } from './rotation.js';
export { secretScanning } from './secret-scanning.js';
