// bench:flood's API process: Express + apiKeyAuth on PostgreSQL (schema FLOOD_SCHEMA),
// with Redis when FLOOD_REDIS_URL is set, the known-keys filter unless FLOOD_FILTER=off,
// no per-source limiter (the flood models more addresses than any budget), and an LRU
// that holds every live key for the whole run (maxAge 10m), so the store's statistics
// count the flood, not re-reads. Prints {"port":N}; GET /__filter tells the filter's state.
import { createKeyward } from '@keyward/core';
import { apiKeyAuth } from '@keyward/express';
import { PostgresStore } from '@keyward/postgres';
import { RedisInvalidationBus, RedisKeyCache } from '@keyward/redis';
import express from 'express';

const store = new PostgresStore({ connectionString: process.env.FLOOD_DATABASE_URL, schema: process.env.FLOOD_SCHEMA, migrate: false });
const redisUrl = process.env.FLOOD_REDIS_URL;
const namespace = process.env.FLOOD_SCHEMA;
const keyward = createKeyward({
  store,
  ...(redisUrl
    ? { cache: new RedisKeyCache({ url: redisUrl, namespace }), bus: new RedisInvalidationBus({ url: redisUrl, namespace }) }
    : {}),
  lru: { max: 20_000, maxAge: '10m' },
  knownKeys: { filter: process.env.FLOOD_FILTER !== 'off' },
});
keyward.subscribe();
// Lookups by hash as this process sees them (the bench reports PostgreSQL's own count).
const lookups = { found: 0, notFound: 0 };
const findKeyByHash = store.findKeyByHash.bind(store);
store.findKeyByHash = async (hash) => {
  const record = await findKeyByHash(hash);
  lookups[record === null ? 'notFound' : 'found']++;
  return record;
};
const app = express();
app.get('/__filter', (_req, res) => res.json(keyward.knownKeysStatus() ?? null));
app.get('/__lookups', (_req, res) => res.json({ ...lookups, changes: keyward.changeLogStatus() ?? null }));
app.use(apiKeyAuth({ keyward, limiter: false }));
app.get('/orders', (req, res) => res.json({ client: req.apiKey.clientId }));
const server = app.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
const shutdown = () =>
  server.close(async () => {
    await keyward.close();
    await store.close();
    process.exit(0);
  });
process.on('SIGTERM', shutdown);
setInterval(() => server.closeIdleConnections?.(), 60_000).unref();
