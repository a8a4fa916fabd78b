import { isApiKeyHttpError, selfRotate } from '@keyward/core';
import type { Middleware } from 'koa';
import { authenticateContext } from './api-key-auth.js';
import { type ApiKeyAuthOptions, invalidOption, resolveKoaOptions } from './options.js';

export interface ApiKeyRotationOptions extends ApiKeyAuthOptions {
  /** Path of the rotation endpoint. Default `'/api-keys/rotate'`. */
  path?: string;
}

/**
 * Self-service rotation: answers `POST /api-keys/rotate` made with the client's
 * current key with its successor (201; the key is in this response only), the new
 * key's fingerprint and the old key's `sunset`. A retry with the same
 * `Idempotency-Key` header gets 200 with the same rotation (and no key). Other
 * requests pass through. Authenticates the request itself unless an earlier
 * `apiKeyAuth()` already set `ctx.state.apiKey`; pass the same `keyward` to both.
 */
export function apiKeyRotation(options: ApiKeyRotationOptions = {}): Middleware {
  const { path = '/api-keys/rotate', ...authOptions } = options;
  if (typeof path !== 'string' || !path.startsWith('/')) throw invalidOption('path', 'must be a path starting with "/"');
  const config = resolveKoaOptions(authOptions);
  return async (ctx, next) => {
    if (ctx.path !== path || ctx.method !== 'POST') return next();
    if (ctx.state.apiKey === undefined && !(await authenticateContext(config, ctx, next))) return;
    try {
      const keyward = await config.http.keyward();
      const result = await selfRotate(keyward, ctx.state.apiKey!, config.http, {
        idempotencyKey: ctx.headers['idempotency-key'],
        rawHeaders: ctx.req.rawHeaders,
        reissue: ctx.headers['keyward-reissue'],
      });
      ctx.status = result.status;
      ctx.set(result.headers);
      ctx.body = result.body;
    } catch (error) {
      if (!isApiKeyHttpError(error)) throw error;
      await config.onError(error, ctx, next);
    }
  };
}
