// A real keyward-protected API on a listening port: Express, the core with a
// MemoryStore, POST /api-keys/rotate. Tests of the client talk HTTP to it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createKeyward, type Keyward, ManualClock, MemoryStore } from '@keyward/core';
import { apiKeyAuth, apiKeyRotationRouter } from '@keyward/express';
import express from 'express';

export interface RealApi {
  readonly baseUrl: string;
  readonly keyward: Keyward;
  readonly clock: ManualClock;
  /** Requests the API saw, by path. */
  readonly hits: Map<string, number>;
  /** Makes the rotation endpoint answer 503 (down) or work again. */
  rotateDown: boolean;
  /** Drops the rotation response after the server did the work (a lost response). */
  loseNextRotateResponse: boolean;
  close(): Promise<void>;
}

export async function startRealApi(options: { grace?: string } = {}): Promise<RealApi> {
  const clock = new ManualClock(Date.now());
  const keyward = createKeyward({ store: new MemoryStore(), clock, grace: options.grace ?? '1h', keyLifetime: '30d' });
  const hits = new Map<string, number>();
  const api = { rotateDown: false, loseNextRotateResponse: false } as RealApi;
  const app = express();
  app.use((req, res, next) => {
    hits.set(req.path, (hits.get(req.path) ?? 0) + 1);
    if (req.path === '/api-keys/rotate' && api.rotateDown) {
      res.status(503).json({ error: 'auth_unavailable', message: 'down' });
      return;
    }
    if (req.path === '/api-keys/rotate' && api.loseNextRotateResponse) {
      api.loseNextRotateResponse = false;
      const end = res.end.bind(res);
      // The server does the rotation; the client never sees the answer.
      res.end = ((..._args: unknown[]) => {
        req.socket.destroy();
        return end();
      }) as typeof res.end;
    }
    next();
  });
  app.use(apiKeyRotationRouter({ keyward }));
  app.use(apiKeyAuth({ keyward }));
  app.get('/orders', (req, res) => {
    res.json({ client: req.apiKey?.clientId, fingerprint: req.apiKey?.fingerprint });
  });
  app.post('/echo', express.text({ type: '*/*' }), (req, res) => {
    res.json({ body: req.body, fingerprint: req.apiKey?.fingerprint });
  });
  const server: Server = createServer(app);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(api, {
    baseUrl: `http://127.0.0.1:${port}`,
    keyward,
    clock,
    hits,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      await keyward.close();
    },
  });
}
