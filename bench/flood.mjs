// bench:flood — issue 16's measure. An API process on PostgreSQL (with Redis and without)
// serves 10,000 live keys to well-behaved keep-alive clients while a second process floods
// it with distinct, well-formed, never-issued keys from 64 loopback addresses (127.0.1.x)
// as fast as it answers. Store queries are counted by PostgreSQL itself: idx_scan of the
// keys table's key_hash index in pg_stat_user_indexes (every lookup by hash uses it), read
// after the API process has exited (a backend flushes its statistics on exit). The same
// run measures the baseline: the same API with the known-keys filter off.
//
// RESULT store_queries_per_flood_request=… live_p99_ratio=… live_hit_rate=… filter_mb_1m=…
//        new_key_ms=… (then the same without Redis, the baseline's, and the 1M build time)
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createKeyward, KnownKeys } from '@keyward/core';
import { PostgresStore } from '@keyward/postgres';
import pg from 'pg';
import { cli, get } from '../test/support/faults/fleet.mjs';
import { getJson } from '../test/support/faults/flood.mjs';
import { startRedisProcess } from '../test/support/faults/redis-process.mjs';
import { JsonChild, percentile } from './lib/json-child.mjs';
import { runBench } from './lib/run-bench.mjs';

const LIVE_KEYS = Number(process.env.FLOOD_LIVE_KEYS ?? 10_000);
const LIVE_CONNECTIONS = Number(process.env.FLOOD_LIVE_CONNECTIONS ?? 8);
const FLOOD_CONNECTIONS = Number(process.env.FLOOD_CONNECTIONS ?? 64);
const QUIET_MS = Number(process.env.FLOOD_QUIET_MS ?? 4000);
const PHASE_MS = Number(process.env.FLOOD_PHASE_MS ?? 20_000); // the flood, after the new key was accepted
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/test';
const schema = `kwflood_${randomBytes(4).toString('hex')}`;
const APP = fileURLToPath(new URL('./lib/flood-app.mjs', import.meta.url));
const CHILD = fileURLToPath(new URL('./lib/flood-child.mjs', import.meta.url));
const log = (line) => console.error(line);
const cleanups = [];

const statsUrl = new URL(databaseUrl);
if (!statsUrl.username) statsUrl.username = encodeURIComponent(process.env.PGUSER || userInfo().username);
const pool = new pg.Pool({ connectionString: statsUrl.href, max: 2 });
pool.on('error', () => {});

/** Lookups by hash the database has counted on the keys table (flushed statistics only). */
async function hashScans() {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await client.query(
      `SELECT coalesce(sum(idx_scan), 0)::bigint AS n FROM pg_stat_user_indexes
        WHERE schemaname = $1 AND relname = 'keys' AND indexrelname IN (
          SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'keys' AND indexdef LIKE '%(key_hash)%')`,
      [schema],
    );
    return Number(rows[0].n);
  } finally {
    client.release();
  }
}

/** Well-behaved clients: each keep-alive connection cycles through its share of the live keys. */
function liveClients(port, keys) {
  let stopped = false;
  let samples = [];
  let ok = 0;
  let total = 0;
  let warmed = 0; // connections that have sent each of their keys once
  const cycled = [];
  const loops = Array.from({ length: LIVE_CONNECTIONS }, async (_, c) => {
    const mine = keys.filter((_k, i) => i % LIVE_CONNECTIONS === c);
    const agent = new Agent({ keepAlive: true, maxSockets: 1, localAddress: `127.0.0.${10 + c}` });
    for (let i = 0; !stopped; i = (i + 1) % mine.length) {
      const started = performance.now();
      const status = await get(port, agent, mine[i]);
      samples.push(performance.now() - started);
      total++;
      if (status === 200) ok++;
      if (i === mine.length - 1) {
        cycled[c] = (cycled[c] ?? 0) + 1;
        if (cycled[c] === 1) warmed++;
      }
    }
    agent.destroy();
  });
  return {
    /** Every connection has sent each of its keys once: every live key is in the app's LRU. */
    get warm() {
      return warmed === LIVE_CONNECTIONS;
    },
    /** Latencies and hit rate since the last call. */
    take() {
      const out = { latencies: samples.sort((a, b) => a - b), ok, total };
      samples = [];
      ok = 0;
      total = 0;
      return out;
    },
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

async function startedApp(env) {
  const app = new JsonChild(APP, [], {
    env: { ...process.env, FLOOD_DATABASE_URL: databaseUrl, FLOOD_SCHEMA: schema, ...env },
    name: 'flood-app',
  });
  cleanups.push(() => app.stop(3000));
  // The app prints {"port":N}: a message without a type.
  const deadline = Date.now() + 15_000;
  while (!app.messages.some((m) => m.port)) {
    if (app.exitCode !== undefined || Date.now() > deadline) throw new Error(`flood-app did not start\n${app.stderr}`);
    await sleep(20);
  }
  return { app, port: app.messages.find((m) => m.port).port };
}

/** One configuration: warm every live key, settle, a quiet phase, then a flood phase with a key issued meanwhile. */
async function scenario(name, env, admin, liveKeys) {
  const { app, port } = await startedApp(env);
  const deadline = Date.now() + 30_000;
  while (env.FLOOD_FILTER !== 'off' && !(await getJson(port, '/__filter'))?.ready) {
    if (Date.now() > deadline) throw new Error(`${name}: the filter was not built within 30 s`);
    await sleep(50);
  }
  const live = liveClients(port, liveKeys);
  cleanups.push(() => live.stop());
  // Warm: every live key once into the LRU, then let the database flush its statistics: a
  // backend flushes at most once a second while busy, and an idle one only 10 s after its
  // last attempt.
  while (!live.warm) {
    if (Date.now() > deadline + 120_000) throw new Error(`${name}: the live keys were not all looked up within 2 min`);
    await sleep(200);
  }
  await sleep(12_000);
  live.take();
  const before = await hashScans();
  await sleep(QUIET_MS);
  const quiet = live.take();
  const flood = new JsonChild(CHILD, [String(port), String(FLOOD_CONNECTIONS), '64'], { name: 'flood' });
  cleanups.push(() => flood.stop(3000));
  await flood.next('started');
  await sleep(1000);
  live.take();
  const fresh = await admin.issue(`fresh-${name}`);
  const issuedAt = performance.now();
  const agent = new Agent({ keepAlive: true, maxSockets: 1, localAddress: '127.0.0.250' });
  while ((await get(port, agent, fresh.key)) !== 200) {
    if (performance.now() - issuedAt > 10_000) throw new Error(`${name}: a new key was refused for 10 s`);
    await sleep(5);
  }
  const newKeyMs = performance.now() - issuedAt;
  agent.destroy();
  await sleep(PHASE_MS);
  const flooded = live.take();
  const filterStatus = await getJson(port, '/__filter');
  const seen = await getJson(port, '/__lookups');
  log(
    `${name}: the app saw ${seen.found} lookups that found a key and ${seen.notFound} that did not; filter ${JSON.stringify(filterStatus)}`,
  );
  await flood.stop(5000);
  const { answered, statuses } = flood.messages.find((m) => m.type === 'done') ?? (await flood.next('done', 5000));
  await live.stop();
  await app.stop(5000); // exit flushes its backends' statistics
  await sleep(500);
  const queries = (await hashScans()) - before;
  const p99 = (s) => percentile(s.latencies, 99);
  const result = {
    name,
    floodRequests: answered,
    floodRate: Math.round(answered / ((PHASE_MS + 1000) / 1000 + newKeyMs / 1000)),
    statuses,
    queries,
    queriesPerFloodRequest: queries / answered,
    quietP99: p99(quiet),
    floodP99: p99(flooded),
    p99Ratio: p99(flooded) / p99(quiet),
    hitRate: flooded.ok / flooded.total,
    liveRequests: flooded.total,
    newKeyMs,
    filterStatus,
  };
  log(
    `${name}: ${answered} flood requests (${result.floodRate}/s, ${JSON.stringify(statuses)}), ${queries} store lookups by hash ` +
      `(${result.queriesPerFloodRequest.toFixed(5)} per flood request); live p99 ${result.quietP99.toFixed(2)} → ${result.floodP99.toFixed(2)} ms ` +
      `(×${result.p99Ratio.toFixed(2)}), ${flooded.total} live requests, hit rate ${result.hitRate.toFixed(4)}; new key accepted after ${newKeyMs.toFixed(0)} ms` +
      (filterStatus
        ? `; filter: ${filterStatus.ruledOut} ruled out, ${filterStatus.budget.spent} budget lookups, budget now ${filterStatus.budget.perSecond}/s`
        : ''),
  );
  return result;
}

/** The filter's memory and build time at 1,000,000 keys (hashes from a scan source in memory, as a store would page them). */
async function filterAtOneMillion() {
  const hashes = Array.from({ length: 1_000_000 }, () => randomBytes(32).toString('hex')).sort();
  const source = {
    async scanKeyHashes(after, limit) {
      let lo = 0;
      let hi = hashes.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (hashes[mid] <= after) lo = mid + 1;
        else hi = mid;
      }
      return hashes.slice(lo, lo + limit);
    },
  };
  const clock = { now: () => Date.now() };
  const logger = { debug() {}, info() {}, warn() {}, error() {} };
  const known = new KnownKeys({ store: source, clock, logger, bitsPerKey: 16, lookupsPerSecond: 20, pageSize: 10_000 });
  const started = performance.now();
  await known.whenReady();
  const buildMs = performance.now() - started;
  const status = known.status();
  let falsePositives = 0;
  for (let i = 0; i < 1_000_000; i++) if (known.check(randomBytes(32).toString('hex')) !== 'refuse' && i > 0) falsePositives++;
  log(
    `filter at 1,000,000 keys: ${(status.bytes / 1024 / 1024).toFixed(2)} MiB, built in ${buildMs.toFixed(0)} ms from pages of 10,000, ` +
      `expected false-positive rate ${status.falsePositiveRate.toExponential(2)}, measured ${falsePositives} of 1,000,000 made-up hashes let through (budget included)`,
  );
  return { mb: status.bytes / 1024 / 1024, buildMs };
}

async function main() {
  const filter = await filterAtOneMillion();
  const redis = await startRedisProcess();
  cleanups.push(() => redis.destroy());
  const env = { KEYWARD_DATABASE_URL: databaseUrl, KEYWARD_DATABASE_SCHEMA: schema };
  const migrated = await cli(['migrate'], env);
  if (migrated.code !== 0) throw new Error(`migrate failed: ${migrated.stderr}`);
  cleanups.push(() => pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
  const store = new PostgresStore({ connectionString: databaseUrl, schema, migrate: false });
  const admin = createKeyward({ store, changes: { interval: false } });
  cleanups.push(() => admin.close());
  log(`issuing ${LIVE_KEYS} live keys into schema ${schema}…`);
  const liveKeys = [];
  for (let i = 0; i < LIVE_KEYS; i += 100) {
    const batch = await Promise.all(Array.from({ length: Math.min(100, LIVE_KEYS - i) }, (_, j) => admin.issue(`live-${i + j}`)));
    for (const issued of batch) liveKeys.push(issued.key);
  }
  const results = {};
  results.redis = await scenario('filter+redis', { FLOOD_REDIS_URL: redis.url }, admin, liveKeys);
  if (process.env.FLOOD_ONLY === '1') return;
  results.noredis = await scenario('filter, no redis', {}, admin, liveKeys);
  results.baseline = await scenario('baseline (no filter)+redis', { FLOOD_REDIS_URL: redis.url, FLOOD_FILTER: 'off' }, admin, liveKeys);
  results.baselineNoRedis = await scenario('baseline (no filter), no redis', { FLOOD_FILTER: 'off' }, admin, liveKeys);
  const f = (n, d = 3) => (Number.isFinite(n) ? n.toFixed(d) : String(n));
  console.log(
    `RESULT store_queries_per_flood_request=${f(results.redis.queriesPerFloodRequest, 5)} live_p99_ratio=${f(results.redis.p99Ratio, 2)} ` +
      `live_hit_rate=${f(results.redis.hitRate, 4)} filter_mb_1m=${f(filter.mb, 2)} new_key_ms=${f(results.redis.newKeyMs, 0)} ` +
      `noredis_store_queries_per_flood_request=${f(results.noredis.queriesPerFloodRequest, 5)} noredis_live_p99_ratio=${f(results.noredis.p99Ratio, 2)} ` +
      `noredis_live_hit_rate=${f(results.noredis.hitRate, 4)} noredis_new_key_ms=${f(results.noredis.newKeyMs, 0)} ` +
      `baseline_store_queries_per_flood_request=${f(results.baseline.queriesPerFloodRequest, 5)} baseline_live_p99_ratio=${f(results.baseline.p99Ratio, 2)} ` +
      `baseline_noredis_store_queries_per_flood_request=${f(results.baselineNoRedis.queriesPerFloodRequest, 5)} ` +
      `baseline_noredis_live_p99_ratio=${f(results.baselineNoRedis.p99Ratio, 2)} flood_rps=${results.redis.floodRate} filter_build_ms_1m=${f(filter.buildMs, 0)}`,
  );
}

await runBench(main, async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await pool.end().catch(() => undefined);
});
process.exit(); // whatever a failed scenario left running
