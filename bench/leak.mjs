// bench:leak — issue 15's measure. An Express app (this process) on PostgreSQL + a Redis of
// the bench's own mounts the secret-scanning endpoint; a second API process (another
// Node process, same database and Redis) verifies the leaked keys. A test "GitHub" key
// signs a report of 1,000 tokens: 100 live keys of ours, 900 others (well-formed foreign
// keys and garbage). The bench measures:
// - report_1000_ms: the POST, from send to answer (signature, parsing, lookups, revokes);
// - leak_to_refused_p99_ms: from the POST's start to the second process's first 401 for
//   each leaked key (it polls them all the while);
// - verify_sig_us: one ECDSA P-256 verify of that body, beside a SHA-256 of it (baseline);
// - baseline_revoke_100_ms: the same 100 keys revoked one by one through keyward.revoke.
// RESULT report_1000_ms=… leak_to_refused_p99_ms=… verify_sig_us=… …
import { createHash, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { Agent, createServer } from 'node:http';
import { userInfo } from 'node:os';
import { createKeyward, generateKey } from '@keyward/core';
import { secretScanningRouter } from '@keyward/express';
import { PostgresStore } from '@keyward/postgres';
import { RedisInvalidationBus, RedisKeyCache } from '@keyward/redis';
import express from 'express';
import pg from 'pg';
import { cli, get, startApps } from '../test/support/faults/fleet.mjs';
import { startRedisProcess } from '../test/support/faults/redis-process.mjs';
import { runBench } from './lib/run-bench.mjs';

const log = (line) => console.error(line);
const cleanups = [];
const url = new URL(process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/test');
if (!url.username) url.username = encodeURIComponent(process.env.PGUSER || userInfo().username);
const databaseUrl = url.href;
const schema = `kwleak_${randomBytes(4).toString('hex')}`;

async function main() {
  const redis = await startRedisProcess();
  cleanups.push(() => redis.destroy());
  const env = { KEYWARD_DATABASE_URL: databaseUrl, KEYWARD_DATABASE_SCHEMA: schema, KEYWARD_REDIS_URL: redis.url };
  const migrated = await cli(['migrate'], env);
  if (migrated.code !== 0) throw new Error(migrated.stderr);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  cleanups.push(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });
  const store = new PostgresStore({ connectionString: databaseUrl, schema, migrate: false });
  const keyward = createKeyward({
    store,
    cache: new RedisKeyCache({ url: redis.url }),
    bus: new RedisInvalidationBus({ url: redis.url }),
  });
  cleanups.push(() => keyward.close());

  // The test "GitHub".
  const github = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keysApp = createServer((_req, res) => {
    const key = github.publicKey.export({ type: 'spki', format: 'pem' });
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ public_keys: [{ key_identifier: 'bench', key, is_current: true }] }));
  });
  await new Promise((r) => keysApp.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => keysApp.close(r)));
  const publicKeysUrl = `http://127.0.0.1:${keysApp.address().port}/keys`;

  // The app with the endpoint.
  const app = express();
  app.use(secretScanningRouter({ keyward, publicKeysUrl }));
  const server = createServer(app);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  const port = server.address().port;

  const issue = async (prefix, n) => {
    const keys = [];
    for (let i = 0; i < n; i += 25)
      keys.push(...(await Promise.all(Array.from({ length: Math.min(25, n - i) }, (_, j) => keyward.issue(`${prefix}-${i + j}`)))));
    return keys;
  };
  const leaked = await issue('leaked', 100);
  const baselineKeys = await issue('baseline', 100);
  const others = Array.from({ length: 900 }, (_, i) =>
    i % 3 === 0 ? `garbage-${randomBytes(8).toString('hex')}` : generateKey('sk_live'),
  );
  const tokens = [...leaked.map((k) => k.key), ...others].sort(() => Math.random() - 0.5);
  const body = JSON.stringify(
    tokens.map((token, i) => ({ token, type: 'keyward_api_key', url: `https://github.com/o/r/blob/${i}/x.env`, source: 'content' })),
  );
  const signature = sign('sha256', Buffer.from(body), github.privateKey).toString('base64');

  // The endpoint's process serves an API too: its known-keys filter is built (it orders a report's lookups).
  await keyward.knownKeysReady();
  // The second API process, warmed with every leaked key.
  const apps = await startApps(1, env);
  cleanups.push(() => apps.stop());
  const secondPort = apps.ports[0];
  const agents = Array.from({ length: 8 }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
  cleanups.push(async () => {
    for (const agent of agents) agent.destroy();
  });
  for (const k of leaked)
    if ((await get(secondPort, agents[0], k.key)) !== 200) throw new Error('a live key was refused before the report');

  // Signature cost beside a plain hash of the same body.
  const bytes = Buffer.from(body);
  const time = (fn, n) => {
    for (let i = 0; i < 20; i++) fn();
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    return Number(process.hrtime.bigint() - t) / 1000 / n;
  };
  const pem = github.publicKey.export({ type: 'spki', format: 'pem' });
  const sigBytes = Buffer.from(signature, 'base64');
  const verifyUs = time(() => verify('sha256', bytes, pem, sigBytes), 500);
  const sha256Us = time(() => createHash('sha256').update(bytes).digest(), 500);

  // The report, while the second process is polled for every leaked key.
  const refusedAt = new Map();
  let polling = true;
  const started = performance.now();
  const pollers = agents.map(async (agent, a) => {
    const mine = leaked.filter((_k, i) => i % agents.length === a);
    while (polling) {
      for (const k of mine) {
        if (refusedAt.has(k.id)) continue;
        if ((await get(secondPort, agent, k.key)) === 401) refusedAt.set(k.id, performance.now() - started);
      }
      if (mine.every((k) => refusedAt.has(k.id))) break;
    }
  });
  const res = await fetch(`http://127.0.0.1:${port}/keyward/secret-scanning`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'github-public-key-identifier': 'bench', 'github-public-key-signature': signature },
    body,
  });
  const answered = await res.json();
  const reportMs = performance.now() - started;
  if (res.status !== 200) throw new Error(`report answered ${res.status}: ${JSON.stringify(answered)}`);
  const positives = answered.filter((a) => a.label === 'true_positive').length;
  if (positives !== 100) throw new Error(`expected 100 true positives, got ${positives}`);
  const deadline = performance.now() + 10_000;
  while (refusedAt.size < leaked.length && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  polling = false;
  await Promise.all(pollers);
  if (refusedAt.size < leaked.length) throw new Error(`${leaked.length - refusedAt.size} leaked keys still accepted after 10 s`);
  const lags = [...refusedAt.values()].sort((a, b) => a - b);
  const p99 = lags[Math.ceil(0.99 * lags.length) - 1];

  // Baseline: the same number of keys revoked one by one.
  const t = performance.now();
  for (const k of baselineKeys) await keyward.revoke(k.id, { reason: 'bench baseline' });
  const baselineMs = performance.now() - t;

  log(
    `report of ${tokens.length} tokens (100 ours) answered in ${reportMs.toFixed(0)} ms; leaked keys refused by the second process ` +
      `p50 ${lags[Math.ceil(0.5 * lags.length) - 1].toFixed(0)} ms, p99 ${p99.toFixed(0)} ms; signature verify ${verifyUs.toFixed(1)} µs ` +
      `(SHA-256 of the same ${bytes.length} bytes: ${sha256Us.toFixed(1)} µs); 100 keys revoked one by one: ${baselineMs.toFixed(0)} ms`,
  );
  console.log(
    `RESULT report_1000_ms=${reportMs.toFixed(0)} leak_to_refused_p99_ms=${p99.toFixed(0)} verify_sig_us=${verifyUs.toFixed(1)} ` +
      `baseline_sha256_us=${sha256Us.toFixed(1)} baseline_revoke_100_ms=${baselineMs.toFixed(0)}`,
  );
}

await runBench(main, async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});
process.exit();
