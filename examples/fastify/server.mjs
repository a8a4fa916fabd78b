// A small Fastify API protected by keyward. Run from the repo root: node examples/fastify/server.mjs
import { createServer } from 'node:http';
import { apiKeyAuth } from '@keyward/fastify';
import Fastify from 'fastify';
import { announce, closeOnSignals, demoKeyward, listenOrExit } from '../shared/demo-key.mjs';

const demo = await demoKeyward(import.meta.url);
const { keyward } = demo;
// request.ip (and so the attempt limiter) trusts X-Forwarded-For only from a local proxy.
// The server is ours (serverFactory) so that a port in use fails like the other examples.
const app = Fastify({ trustProxy: '127.0.0.1', serverFactory: (handler) => createServer(handler) });

await app.register(apiKeyAuth, { keyward, rotation: true }); // every route needs a key; POST /api-keys/rotate
app.get('/health', { config: { apiKey: false } }, async () => ({ ok: true }));
app.get('/orders', async (request) => ({ client: request.apiKey.clientId, orders: [{ id: 1, item: 'coffee' }] }));
app.post('/orders', { config: { apiKey: { scopes: ['orders:write'] } } }, async (request, reply) =>
  reply.code(201).send({ client: request.apiKey.clientId, id: 2 }),
);
await app.ready();

const port = Number(process.env.PORT ?? 3003);
await listenOrExit(app.server, port, 'Fastify', demo);
await announce('Fastify', port, demo);
closeOnSignals(() => app.close().then(() => keyward.close()));
