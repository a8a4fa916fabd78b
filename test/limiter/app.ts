// A small Express API on a real listening port, and a store whose lookups are counted.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { AttemptLimiter, Keyward } from '@keyward/core';
import { apiKeyAuth, apiKeyRotationRouter } from '@keyward/express';
import express from 'express';

/** Counts `keyward`'s store lookups by key hash: wraps the real store's own `findKeyByHash`, which the verifier calls. */
export function countLookups(keyward: Keyward): { readonly count: number } {
  const store = keyward.store;
  const original = store.findKeyByHash.bind(store);
  const counter = { count: 0 };
  store.findKeyByHash = (keyHash) => {
    counter.count++;
    return original(keyHash);
  };
  return counter;
}

/** GET /orders behind `apiKeyAuth()`, and `POST /api-keys/rotate`: with `limiter` undefined, the default options. */
export function buildApp(keyward: Keyward, limiter?: AttemptLimiter): express.Express {
  const options = limiter === undefined ? { keyward } : { keyward, limiter };
  const app = express();
  app.use(apiKeyRotationRouter(options));
  app.use(apiKeyAuth(options));
  app.get('/orders', (req, res) => {
    res.json({ clientId: req.apiKey?.clientId });
  });
  return app;
}

export interface Listening {
  readonly url: string;
  close(): Promise<void>;
}

export async function listen(app: express.Express): Promise<Listening> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The status of one request from this process (source 127.0.0.1) with `key`. */
export async function statusOf(url: string, key: string, path = '/orders', method = 'GET'): Promise<number> {
  const res = await fetch(`${url}${path}`, { method, headers: { 'x-api-key': key } });
  await res.arrayBuffer();
  return res.status;
}
