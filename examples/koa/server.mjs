// A small Koa API protected by keyward. Run from the repo root: node examples/koa/server.mjs
import { apiKeyAuth, apiKeyRotation } from '@keyward/koa';
import Koa from 'koa';
import { demoKeyward, usage } from '../shared/demo-key.mjs';

const keyward = await demoKeyward(import.meta.url);
const app = new Koa();
app.proxy = false; // set true behind a proxy you trust: ctx.ip (and so the attempt limiter) then reads X-Forwarded-For

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
const server = app.listen(port, '127.0.0.1', () => {
  console.log(`Koa example listening on http://127.0.0.1:${port}`);
  usage(port);
});
process.on('SIGINT', () => server.close(() => keyward.close().then(() => process.exit(0))));
process.on('SIGTERM', () => server.close(() => keyward.close().then(() => process.exit(0))));
