// A small Express API protected by keyward. Run from the repo root: node examples/express/server.mjs
import { createServer } from 'node:http';
import { keywardAdmin } from '@keyward/admin';
import { apiKeyAuth, apiKeyRotationRouter } from '@keyward/express';
import express from 'express';
import { announce, announceAdmin, closeOnSignals, demoKeyward, listenOrExit } from '../shared/demo-key.mjs';

const demo = await demoKeyward(import.meta.url);
const { keyward } = demo;
const app = express();
app.set('trust proxy', 'loopback'); // req.ip (and so the attempt limiter) trusts X-Forwarded-For only from a local proxy

app.get('/health', (_req, res) => res.json({ ok: true }));
// The operator console, before apiKeyAuth: it has its own admin keys (another prefix, which the API refuses).
const adminMount = process.env.KEYWARD_ADMIN_MOUNT ?? '/keyward';
const admin = keywardAdmin({ keyward, adminKeys: true });
app.use(adminMount, admin);
app.use(apiKeyRotationRouter({ keyward })); // POST /api-keys/rotate
const auth = apiKeyAuth({ keyward });
app.use(auth);
app.get('/orders', (req, res) => res.json({ client: req.apiKey.clientId, orders: [{ id: 1, item: 'coffee' }] }));
app.post('/orders', auth.requireScopes('orders:write'), (req, res) => res.status(201).json({ client: req.apiKey.clientId, id: 2 }));

const port = Number(process.env.PORT ?? 3000);
const server = await listenOrExit(createServer(app), port, 'Express', demo);
await announce('Express', port, demo);
await announceAdmin(admin, `http://127.0.0.1:${port}${adminMount}/`, demo);
closeOnSignals(() =>
  new Promise((done) => {
    server.closeAllConnections();
    server.close(done);
  })
    .then(() => admin.close())
    .then(() => keyward.close()),
);
