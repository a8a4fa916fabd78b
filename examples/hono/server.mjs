// A small Hono API (on @hono/node-server) protected by keyward. Run from the repo root: node examples/hono/server.mjs
import { createServer } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { apiKeyAuth, apiKeyRotation } from '@keyward/hono';
import { Hono } from 'hono';
import { announce, closeOnSignals, demoKeyward, listenOrExit } from '../shared/demo-key.mjs';

const demo = await demoKeyward(import.meta.url);
const { keyward } = demo;

/**
 * Hono has no `trust proxy`: the client's address is the socket's, or, from a proxy on
 * this machine, the last address in X-Forwarded-For (the one that proxy saw).
 */
function clientIp(c) {
  const socket = c.env.incoming.socket.remoteAddress;
  const forwarded = c.req.header('x-forwarded-for');
  const local = socket === '127.0.0.1' || socket === '::1' || socket === '::ffff:127.0.0.1';
  return local && forwarded ? forwarded.split(',').at(-1).trim() : socket;
}

const app = new Hono();
const options = { keyward, clientIp };
app.get('/health', (c) => c.json({ ok: true }));
app.post('/api-keys/rotate', apiKeyRotation(options));
const auth = apiKeyAuth(options);
app.use(auth);
app.get('/orders', (c) => c.json({ client: c.get('apiKey').clientId, orders: [{ id: 1, item: 'coffee' }] }));
app.post('/orders', auth.requireScopes('orders:write'), (c) => c.json({ client: c.get('apiKey').clientId, id: 2 }, 201));

const port = Number(process.env.PORT ?? 3004);
const server = await listenOrExit(createServer(getRequestListener(app.fetch)), port, 'Hono', demo);
await announce('Hono', port, demo);
closeOnSignals(() => new Promise((done) => server.close(done)).then(() => keyward.close()));
