// One API process as a user runs it: Express with a bare `apiKeyAuth()` configured by
// KEYWARD_DATABASE_URL / KEYWARD_REDIS_URL. Prints `{"port":N}` once listening.
import { apiKeyAuth } from '@keyward/express';
import express from 'express';

const app = express();
app.use(apiKeyAuth());
app.get('/orders', (req, res) => {
  res.json({ client: req.apiKey.clientId });
});
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
server.on('error', (error) => {
  process.stderr.write(`app: ${error.message}\n`);
  process.exit(1);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
