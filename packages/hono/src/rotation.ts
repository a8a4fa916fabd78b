import { isApiKeyHttpError, selfRotate, type ValidKey } from '@keyward/core';
import type { Handler } from 'hono';
import { type ApiKeyEnv, authenticateContext } from './api-key-auth.js';
import { type ApiKeyAuthOptions, resolveHonoOptions } from './options.js';

/** Node's request on `@hono/node-server`, for its raw header list. */
function rawHeadersOf(env: unknown): readonly string[] | undefined {
  return (env as { incoming?: { rawHeaders?: readonly string[] } } | undefined)?.incoming?.rawHeaders;
}

/**
 * Self-service rotation, as a route handler: `app.post('/api-keys/rotate', apiKeyRotation({ keyward }))`.
 * Made with the client's current key, it answers with its successor (201; the key is in
 * this response only), the new key's fingerprint and the old key's `sunset`. A retry with
 * the same `Idempotency-Key` gets 200 with the same rotation (and no key). Authenticates
 * the request itself unless `apiKeyAuth()` already ran; pass the same `keyward` to both.
 */
export function apiKeyRotation(options: ApiKeyAuthOptions = {}): Handler<ApiKeyEnv> {
  const config = resolveHonoOptions(options);
  return async (c) => {
    if (c.get('apiKey') === undefined) {
      const refused = await authenticateContext(config, c);
      if (refused !== undefined) return refused;
    }
    try {
      const keyward = await config.http.keyward();
      const result = await selfRotate(keyward, c.get('apiKey') as ValidKey, config.http, {
        idempotencyKey: c.req.header('idempotency-key'),
        rawHeaders: rawHeadersOf(c.env),
        reissue: c.req.header('keyward-reissue'),
      });
      return c.json(result.body, result.status, result.headers);
    } catch (error) {
      if (!isApiKeyHttpError(error)) throw error;
      return (await config.onError(error, c)) as Response;
    }
  };
}
