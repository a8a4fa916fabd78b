// A small Koa API protected by keyward. Run from the repo root: node examples/koa/server.mjs
import { createServer } from 'node:http';
import { apiKeyAuth, apiKeyRotation } from '@keyward/koa';
import Koa from 'koa';
import { announce, closeOnSignals, demoKeyward, listenOrExit } from '../shared/demo-key.mjs';

const demo = await demoKeyward(import.meta.url);
const { keyward } = demo;
// Like the Express example's `trust proxy` 'loopback': ctx.ip (and so the attempt limiter) reads X-Forwarded-For,
// and listens only on 127.0.0.1, so only a proxy on this machine can set it.
const app = new Koa({ proxy: true, maxIpsCount: 1 }); // the address the local proxy saw, not what the client wrote

app.use(async (ctx, next) => {
  if (ctx.path === '/health') ctx.body = { ok: true };
  else await next();
});
app.use(apiKeyRotation({ keyward })); // POST /api-keys/rotate
const auth = apiKeyAuth({ keyward });
const canWrite = auth.requireScopes('orders:write');
app.use(auth);
app.use(async (ctx, next) => {
  if (ctx.path !== '/orders') return next();
  if (ctx.method === 'GET') ctx.body = { client: ctx.state.apiKey.clientId, orders: [{ id: 1, item: 'coffee' }] };
  else if (ctx.method === 'POST')
    await canWrite(ctx, async () => {
      ctx.status = 201;
      ctx.body = { client: ctx.state.apiKey.clientId, id: 2 };
    });
});

const port = Number(process.env.PORT ?? 3001);
const server = await listenOrExit(createServer(app.callback()), port, 'Koa', demo);
await announce('Koa', port, demo);
closeOnSignals(() => new Promise((done) => server.close(done)).then(() => keyward.close()));
