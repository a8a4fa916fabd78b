// One API process as a user runs it: Express with a bare `apiKeyAuth()` configured by
// KEYWARD_DATABASE_URL / KEYWARD_REDIS_URL (the zero-config default). Prints `{"port":N}`
// once listening. For the tests and bench:faults it also counts the store's key lookups
// (GET /__lookups, unauthenticated), and with FAULTS_BASELINE=1 it runs keyward as it was
// before the change log was followed (`changes.interval: false`: the bus alone).
// For the flood tests and bench:flood: GET /__filter answers the known-keys filter's and the
// change log's status; FAULTS_LIMITER=off runs without the failed-attempt limiter (a botnet
// with more addresses than any limiter budget), FAULTS_FILTER=off without the filter.
import { createKeywardFromEnv, defaultAttemptLimiter, defaultKeyward } from '@keyward/env';
import { apiKeyAuth } from '@keyward/express';
import express from 'express';

const baseline = process.env.FAULTS_BASELINE === '1';
const noFilter = process.env.FAULTS_FILTER === 'off';
const noLimiter = process.env.FAULTS_LIMITER === 'off';
const keyward = baseline
  ? await createKeywardFromEnv({ changes: { interval: false } })
  : noFilter
    ? await createKeywardFromEnv({ knownKeys: { filter: false } })
    : await defaultKeyward();
let lookups = 0;
let unknownLookups = 0; // lookups that found nothing: what a flood of unknown keys costs the store
const store = keyward.store;
const findKeyByHash = store.findKeyByHash.bind(store);
store.findKeyByHash = (hash) => {
  lookups++;
  const found = findKeyByHash(hash);
  found.then(
    (record) => {
      if (record === null) unknownLookups++;
    },
    () => undefined,
  );
  return found;
};

const app = express();
app.get('/__lookups', (_req, res) => res.json({ lookups, unknownLookups }));
app.get('/__filter', (_req, res) => res.json({ filter: keyward.knownKeysStatus() ?? null, changes: keyward.changeLogStatus() ?? null }));
const limiter = noLimiter ? false : defaultAttemptLimiter();
app.use(baseline || noFilter || noLimiter ? apiKeyAuth({ keyward, limiter }) : apiKeyAuth());
// Build the filter and follow the log before the first request, as a production app would.
keyward.subscribe();
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
