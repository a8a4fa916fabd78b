import type { ValidKey } from '@keyward/core';
import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import { IS_PUBLIC, REQUIRED_SCOPES } from './constants.js';
import type { PlatformRequest } from './http-platform.js';

/** Skips `ApiKeyGuard` for a route or a whole controller (useful with a global guard). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);

/** Scopes the API key must hold for a route or controller (both levels add up); 403 `insufficient_scope` otherwise. */
export const Scopes = (...scopes: string[]): MethodDecorator & ClassDecorator => SetMetadata(REQUIRED_SCOPES, scopes);

/** Injects the verified key (`ValidKey`) into a handler parameter. */
export const ApiKey = createParamDecorator((_data: unknown, context: ExecutionContext): ValidKey | undefined => {
  return context.switchToHttp().getRequest<PlatformRequest>().apiKey;
});
