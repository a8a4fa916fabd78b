import { isApiKeyHttpError, selfRotate } from '@keyward/core';
import { type Request, type Response, Router } from 'express';
import { type ApiKeyAuthMiddleware, apiKeyAuth } from './api-key-auth.js';
import { type ApiKeyAuthOptions, invalidOption } from './options.js';

export interface ApiKeyRotationRouterOptions extends ApiKeyAuthOptions {
  /** Path of the rotation endpoint inside the router. Default `'/api-keys/rotate'`. */
  path?: string;
}

/**
 * Self-service rotation: `POST /api-keys/rotate` made with the client's current key
 * returns its successor (201; the key is in this response only), the new key's
 * fingerprint and the old key's `sunset`. A retry with the same `Idempotency-Key`
 * header gets 200 with the same rotation (and no key). Authenticates the request
 * itself unless an earlier `apiKeyAuth()` already set `req.apiKey`; pass the same
 * `keyward` to both.
 */
export function apiKeyRotationRouter(options: ApiKeyRotationRouterOptions = {}): Router {
  const { path = '/api-keys/rotate', ...authOptions } = options;
  if (typeof path !== 'string' || !path.startsWith('/')) throw invalidOption('path', 'must be a path starting with "/"');
  const auth: ApiKeyAuthMiddleware = apiKeyAuth(authOptions);
  const { http, onError } = auth.config;
  const router = Router();
  router.post(
    path,
    (req, res, next) => (req.apiKey === undefined ? auth(req, res, next) : next()),
    async (req: Request, res: Response, next) => {
      try {
        const keyward = await http.keyward();
        const result = await selfRotate(keyward, req.apiKey!, http, {
          idempotencyKey: req.headers['idempotency-key'],
          rawHeaders: req.rawHeaders,
          reissue: req.headers['keyward-reissue'],
        });
        res.status(result.status).set(result.headers).json(result.body);
      } catch (error) {
        if (isApiKeyHttpError(error)) await onError(error, req, res, next);
        else next(error);
      }
    },
  );
  return router;
}
