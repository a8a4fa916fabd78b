// bench:redis — in one run (issue 4):
// (a) Redis commands per verification, counted by Redis itself (INFO commandstats deltas) on a
//     redis-server the bench starts on a free port (so no other client's commands are counted):
//     a cached key (goal 0), a key not in the LRU (goal 1), 10,000 malformed keys (goal 0), and
//     10,000 well-formed unknown keys repeated (goal <= 1 per distinct key per negative-cache TTL).
// (b) revocation-to-rejection latency across processes on the real Redis (127.0.0.1:6379,
//     random namespace): verifier processes keep verifying 200 keys while this one revokes
//     them one at a time; p50 and p99 (goal p99 <= 50 ms on loopback).
// The durable store is PostgresStore (DATABASE_URL, default postgres://127.0.0.1:5432/test) in a
// schema of its own. Everything created is removed at the end: the schema (DROP ... CASCADE),
// the namespace on 6379 (SCAN + DEL), the bench's redis-server (SHUTDOWN NOSAVE).
// Run from the repo root: `pnpm run bench:redis` (builds first) or `node bench/redis.mjs`. Ends with:
//   RESULT cmds_cached=… cmds_miss=… cmds_malformed=… cmds_unknown_per_key=… revoke_p50_ms=… revoke_p99_ms=…
// Env: REDIS_URL (for (b); default redis://127.0.0.1:6379), DATABASE_URL, BENCH_REVOCATIONS (200),
// BENCH_VERIFIERS (2).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PostgresStore } from '@keyward/postgres';
import { Redis } from 'ioredis';
import pg from 'pg';
import { countCommands, IN_SCRIPT } from './lib/command-counts.mjs';
import { databaseUrl } from './lib/database-url.mjs';
import { median, percentile } from './lib/json-child.mjs';
import { startRedisServer } from './lib/redis-server.mjs';
import { revocationLatency } from './lib/revocation-latency.mjs';
import { runBench } from './lib/run-bench.mjs';

const REVOCATIONS = Number(process.env.BENCH_REVOCATIONS ?? 200);
const VERIFIERS = Number(process.env.BENCH_VERIFIERS ?? 2);
const GAP_MS = [20, 50];
const SHARED_REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const tag = randomBytes(5).toString('hex');
const schema = `kwbench_redis_${tag}`;
const namespace = `kwbench-${tag}`;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'keyward-bench-redis-'));
const pool = new pg.Pool({ connectionString: databaseUrl(), max: 8 });
pool.on('error', () => {});
const running = new Set(); // child processes to stop on the way out
let ownRedis;
const log = (line) => console.log(line);

const fmtDelta = (delta) => {
  const top = Object.entries(delta).filter(([name]) => !IN_SCRIPT.has(name));
  const inner = Object.entries(delta).filter(([name]) => IN_SCRIPT.has(name));
  const list = (xs) => xs.map(([name, n]) => `${name.toUpperCase()} ${n}`).join(', ');
  return `${top.length ? list(top) : 'none'}${inner.length ? `  (inside the scripts: ${list(inner)})` : ''}`;
};

function reportCommands({ rows, negativeTtlMs }, server) {
  console.log(`\n(a) Redis commands per verification, from INFO commandstats of ${server}`);
  console.log(
    `    ${'case'.padEnd(38)}${'verifications'.padStart(13)}${'round trips'.padStart(13)}${'per verif.'.padStart(12)}${'store lookups'.padStart(15)}  commands`,
  );
  for (const r of rows) {
    console.log(
      `    ${r.name.padEnd(38)}${r.verifications.toLocaleString('en-US').padStart(13)}${String(r.roundTrips).padStart(13)}` +
        `${(r.roundTrips / r.verifications).toFixed(3).padStart(12)}${String(r.storeLookups).padStart(15)}  ${fmtDelta(r.delta)}`,
    );
  }
  for (const r of rows.filter((x) => x.distinct)) {
    console.log(
      `    ${r.name}: ${(r.roundTrips / r.distinct).toFixed(3)} Redis commands and ${(r.storeLookups / r.distinct).toFixed(3)} store lookups ` +
        `per distinct key; the passes took ${r.elapsedMs} ms${r.firstPassMs ? ` (first pass ${r.firstPassMs} ms)` : ''}; negative-cache TTL ${negativeTtlMs} ms`,
    );
  }
  const sent = rows
    .map(
      (r) =>
        `${
          Object.entries(r.clientSent)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ') || 'none'
        }`,
    )
    .join(' | ');
  console.log(`    cross-check, commands the verifier's client sent (per case): ${sent}`);
  console.log(
    '    Round trips = commands a client sent (HMGET = cache get, EVALSHA = cache fill; PING, the bus heartbeat every 200 ms, is not per verification and not counted); the TYPE/HSET/PEXPIRE in brackets run inside\n' +
      '    the fill script and are counted by Redis separately. The fill after a store lookup is not awaited by verify().',
  );
}

function reportLatency({ samples, revokeMs, missed }) {
  const sorted = (xs) => Float64Array.from(xs).sort();
  const afterReturn = sorted(samples.map((s) => s.afterReturn));
  const afterCall = sorted(samples.map((s) => s.afterCall));
  const revoke = sorted(revokeMs);
  const row = (label, xs) =>
    `    ${label.padEnd(50)}p50 ${String(percentile(xs, 50)).padStart(4)} ms   p99 ${String(percentile(xs, 99)).padStart(4)} ms   ` +
    `max ${String(xs.at(-1)).padStart(4)} ms   min ${String(xs[0]).padStart(4)} ms`;
  console.log(
    `\n(b) revocation to rejection, ${REVOCATIONS} revocations x ${VERIFIERS} verifier processes = ${samples.length} samples ` +
      `(Redis ${SHARED_REDIS}, PostgresStore, Date.now() in both, verifiers poll every 1 ms)`,
  );
  console.log(row('first refusal - revoke() returned', afterReturn));
  console.log(row('first refusal - revoke() called', afterCall));
  console.log(row('revoke() itself (store commit + cache + publish)', revoke));
  if (missed > 0) console.log(`    MISSED: ${missed} (revocation, verifier) pairs never refused within 5 s after the last revoke`);
  console.log('    (a negative figure: the verifier refused the key before revoke() had returned to its caller)');
  return { p50: percentile(afterReturn, 50), p99: missed > 0 ? Number.POSITIVE_INFINITY : percentile(afterReturn, 99) };
}

async function main() {
  const pgVersion = (await pool.query('SHOW server_version')).rows[0].server_version;
  await new PostgresStore({ pool, schema }).migrate();
  ownRedis = await startRedisServer(tmp);
  const countUrl = ownRedis?.url ?? SHARED_REDIS;
  const server = ownRedis
    ? `a redis-server ${ownRedis.version} of the bench's own on port ${ownRedis.port}`
    : `${SHARED_REDIS} (no redis-server binary: other clients' commands may be counted too)`;
  console.log(`keyward bench: Redis cost of verification and revocation latency; node ${process.version}, PostgreSQL ${pgVersion}`);

  const counts = await countCommands({ url: countUrl, pool, schema, namespace, log });
  const latency = await revocationLatency({
    redisUrl: SHARED_REDIS,
    databaseUrl: databaseUrl(),
    pool,
    schema,
    namespace,
    count: REVOCATIONS,
    verifiers: VERIFIERS,
    gapMs: GAP_MS,
    running,
    log,
  });

  reportCommands(counts, server);
  const { p50, p99 } = reportLatency(latency);
  const perVerification = (name) => {
    const r = counts.rows.find((x) => x.name.startsWith(name));
    return r.roundTrips / r.verifications;
  };
  const unknownPerKey = Math.max(...counts.rows.filter((r) => r.distinct).map((r) => r.roundTrips / r.distinct));
  const goals = [
    ['cached key: 0 commands', perVerification('cached') === 0],
    ['key not in the LRU: 1 command', perVerification('key in Redis') === 1],
    ['malformed: 0 commands', perVerification('malformed') === 0],
    ['unknown: <= 1 per distinct key per TTL', unknownPerKey <= 1],
    ['revocation p99 <= 50 ms', p99 <= 50],
  ];
  console.log(`\ngoals: ${goals.map(([label, ok]) => `${label} ${ok ? 'met' : 'NOT met'}`).join('; ')}`);
  console.log(`(median revoke() duration ${median(latency.revokeMs)} ms)`);
  console.log(
    `RESULT cmds_cached=${perVerification('cached')} cmds_miss=${perVerification('key in Redis')} ` +
      `cmds_malformed=${perVerification('malformed')} cmds_unknown_per_key=${unknownPerKey} revoke_p50_ms=${p50} revoke_p99_ms=${p99}`,
  );
}

/** SCAN + DEL of everything under the namespace on the shared Redis. */
async function dropNamespace() {
  const redis = new Redis(SHARED_REDIS, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

async function cleanup() {
  const step = (what, promise) => promise.catch((error) => console.error(`cleanup: ${what}: ${error.message}`));
  await Promise.all([...running].map((child) => child.stop()));
  await step('redis namespace', dropNamespace());
  if (ownRedis) await step('redis-server', ownRedis.stop());
  await step('schema', pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
  await pool.end();
  rmSync(tmp, { recursive: true, force: true });
}

await runBench(main, cleanup);
