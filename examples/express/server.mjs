// A small Express API protected by keyward. Run from the repo root: node examples/express/server.mjs
import { apiKeyAuth, apiKeyRotationRouter } from '@keyward/express';
import express from 'express';
import { demoKeyward, usage } from '../shared/demo-key.mjs';

const keyward = await demoKeyward(import.meta.url);
const app = express();
app.set('trust proxy', 'loopback'); // req.ip (and so the attempt limiter) trusts X-Forwarded-For only from a local proxy

app.get('/health', (_req, res) => res.json({ ok: true }));
app.use(apiKeyRotationRouter({ keyward })); // POST /api-keys/rotate
const auth = apiKeyAuth({ keyward });
app.use(auth);
app.get('/orders', (req, res) => res.json({ client: req.apiKey.clientId, orders: [{ id: 1, item: 'coffee' }] }));
app.post('/orders', auth.requireScopes('orders:write'), (req, res) => res.status(201).json({ client: req.apiKey.clientId, id: 2 }));

const port = Number(process.env.PORT ?? 3000);
const server = app.listen(port, '127.0.0.1', () => {
  console.log(`Express example listening on http://127.0.0.1:${port}`);
  usage(port);
});
process.on('SIGINT', () => server.close(() => keyward.close().then(() => process.exit(0))));
process.on('SIGTERM', () => server.close(() => keyward.close().then(() => process.exit(0))));
