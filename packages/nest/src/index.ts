export { ApiKeyHttpError, type AttemptLimiter, HttpErrorCodes, MemoryAttemptLimiter, type ValidKey } from '@keyward/core';
export { ApiKeyGuard } from './api-key.guard.js';
export { ApiKeyModule, type ApiKeyModuleAsyncOptions } from './api-key.module.js';
export { createRotationController } from './api-key-rotation.controller.js';
export { API_KEY_CONFIG, API_KEY_OPTIONS, IS_PUBLIC, REQUIRED_SCOPES } from './constants.js';
export { ApiKey, Public, Scopes } from './decorators.js';
export { type PlatformRequest, toNestException } from './http-platform.js';
export {
  type ApiKeyModuleExtras,
  type ApiKeyModuleOptions,
  type NestApiKeyConfig,
  type NestErrorHook,
  resolveNestOptions,
} from './options.js';
