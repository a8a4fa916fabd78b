export { ApiKeyHttpError, type AttemptLimiter, HttpErrorCodes, MemoryAttemptLimiter, type ValidKey } from '@keyward/core';
export { type ApiKeyAuthOptions, type FastifyErrorHook, type RouteApiKeyConfig, sendError } from './options.js';
export { apiKeyAuth } from './plugin.js';
export { type SecretScanningOptionsFastify, secretScanning } from './secret-scanning.js';
