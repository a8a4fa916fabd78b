// bench:admin — the operator console on PostgreSQL at 100,000 clients (110,000 keys) with
// 1,000 open rotations and two days of hourly request counts for their keys: the server
// time of the clients page (first page, a deep page, a search by client id and by
// fingerprint), of the rotation-progress page, and what per-key usage counting costs on
// the hot path. Run from the repo root: `pnpm run bench:admin` (builds first).
//
// Pages: keywardAdmin() in this process behind a real HTTP server on 127.0.0.1; a server
// time is from the request's arrival to the response's 'finish' (the handler, its store
// queries and the HTML), measured inside the server; 200 sequential requests per case
// after 20 untimed ones. Baseline in the same run: the deep page's data as one
// GROUP BY … OFFSET query on the bare pool, the way a console without keyset pages would.
// Usage cost: Express hello-world behind apiKeyAuth (SqliteStore, cached key) with counting
// on, and the same app with `usageCounts: false`, both in ONE server process
// (bench/lib/usage-pair-app.mjs: the same code placement and JIT for both, so the ~4 %
// between two identical processes does not land on one side), autocannon rounds
// alternating; ratio = median over fresh processes of median req/s on / median req/s off.
// Uses DATABASE_URL (default postgres://127.0.0.1:5432/test) and a schema of its own, dropped at the end.
// Ends with one line (goals: every page p50 <= 50 ms, usage_cost_ratio >= 0.99):
//   RESULT clients_p50_ms=… search_p50_ms=… progress_p50_ms=… usage_cost_ratio=… …
// Env: BENCH_INSTANCES (4), BENCH_ROUNDS (6), BENCH_ROUND_MS (2000), BENCH_WARMUP_MS (4000), BENCH_CONNECTIONS (10).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { keywardAdmin } from '@keyward/admin';
import { createKeyward } from '@keyward/core';
import { PostgresStore } from '@keyward/postgres';
import autocannon from 'autocannon';
import pg from 'pg';
import { databaseUrl } from './lib/database-url.mjs';
import { JsonChild, median } from './lib/json-child.mjs';
import { runBench } from './lib/run-bench.mjs';

const CLIENTS = 100_000;
const SECOND_KEYS = 10_000;
const OPEN_ROTATIONS = 1_000;
const USAGE_HOURS = 48;
const WARMUP = 20;
const CALLS = 200;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 2000);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 4000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const PAIR_APP = fileURLToPath(new URL('./lib/usage-pair-app.mjs', import.meta.url));

const schema = `kwadmin_${randomBytes(5).toString('hex')}`;
const q = `"${schema}"`;
const pool = new pg.Pool({ connectionString: databaseUrl(), max: 10 });
pool.on('error', () => {});
const store = new PostgresStore({ pool, schema });
const tmp = mkdtempSync(path.join(os.tmpdir(), 'keyward-bench-admin-'));
const children = new Set();
let keyward;
let admin;
let server;

async function seed(now) {
  // One active key per client, every tenth client a second key; the first 1,000 clients are
  // in an open rotation (old key in grace, new key pending) started 2 days ago.
  await pool.query(
    `INSERT INTO ${q}.keys (id, client_id, key_hash, fingerprint, prefix, status, scopes, metadata,
       created_at, expires_at, grace_until, rotation_id, last_used_at, status_changed_at, updated_at, version)
     SELECT 'key-' || g, 'client-' || lpad(c::text, 6, '0'), h, left(h, 8), 'sk_live', s,
            ARRAY['orders:read'], '{}'::jsonb, $1::bigint - ${30 * DAY}, $1::bigint + (g % 365)::bigint * ${DAY},
            CASE WHEN g <= ${OPEN_ROTATIONS} THEN $1::bigint + ${DAY} END,
            CASE WHEN g <= ${OPEN_ROTATIONS} THEN 'rot-' || g END,
            $1::bigint - (g % 100)::bigint * 60000, $1::bigint, $1::bigint, 1
     FROM (SELECT g, g AS c, 'active' AS s FROM generate_series(1, ${CLIENTS}) AS g
           UNION ALL
           SELECT ${CLIENTS} + g, g * 10 + 5, (ARRAY['inactive', 'revoked'])[1 + g % 2] FROM generate_series(1, ${SECOND_KEYS}) AS g) AS k,
          LATERAL (SELECT encode(sha256(convert_to('keyward-admin-' || g, 'UTF8')), 'hex') AS h) AS x`,
    [now],
  );
  await pool.query(
    `INSERT INTO ${q}.keys (id, client_id, key_hash, fingerprint, prefix, status, scopes, metadata,
       created_at, expires_at, rotation_id, replaces, status_changed_at, updated_at, version)
     SELECT 'new-' || g, 'client-' || lpad(g::text, 6, '0'), h, left(h, 8), 'sk_live', 'pending', ARRAY['orders:read'], '{}'::jsonb,
            $1::bigint - ${2 * DAY}, $1::bigint + ${30 * DAY}, 'rot-' || g, 'key-' || g, $1::bigint, $1::bigint, 1
     FROM generate_series(1, ${OPEN_ROTATIONS}) AS g,
          LATERAL (SELECT encode(sha256(convert_to('keyward-admin-new-' || g, 'UTF8')), 'hex') AS h) AS x`,
    [now],
  );
  await pool.query(
    `INSERT INTO ${q}.rotations (id, client_id, old_key_id, new_key_id, state, grace_until, first_used_at, created_at, updated_at, version)
     SELECT 'rot-' || g, 'client-' || lpad(g::text, 6, '0'), 'key-' || g, 'new-' || g, 'delivered', $1::bigint + ${DAY},
            CASE WHEN g % 2 = 0 THEN $1::bigint - ${DAY} END, $1::bigint - ${2 * DAY} + g, $1::bigint, 1
     FROM generate_series(1, ${OPEN_ROTATIONS}) AS g`,
    [now],
  );
  // Hourly request counts for both keys of every open rotation, since it started.
  const firstHour = now - (now % HOUR) - (USAGE_HOURS - 1) * HOUR;
  await pool.query(
    `INSERT INTO ${q}.key_usage (key_id, hour, valid, grace)
     SELECT k, $1::bigint + h * ${HOUR}, (g * 7 + h) % 50, (g + h) % 20
     FROM generate_series(1, ${OPEN_ROTATIONS}) AS g, generate_series(0, ${USAGE_HOURS - 1}) AS h,
          LATERAL (VALUES ('key-' || g), ('new-' || g)) AS v(k)`,
    [firstHour],
  );
  for (const table of ['keys', 'rotations', 'key_usage']) await pool.query(`VACUUM (ANALYZE) ${q}.${table}`);
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];

/** Server times of `CALLS` sequential GETs of `pathOf(i)` after `WARMUP` untimed ones; each answer must be 200 and pass `check`. */
async function measurePage(name, pathOf, check, serverTimes, url) {
  const run = async (i) => {
    const response = await fetch(`${url}${pathOf(i)}`);
    const body = await response.text();
    if (response.status !== 200 || !check(body))
      throw new Error(`${name}: unexpected answer ${response.status} for ${pathOf(i)}: ${body.slice(0, 300)}`);
  };
  for (let i = 0; i < WARMUP; i++) await run(i);
  serverTimes.length = 0;
  for (let i = 0; i < CALLS; i++) await run(i);
  const sorted = Float64Array.from(serverTimes).sort();
  const row = { name, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  console.log(`${name.padEnd(48)}${row.p50.toFixed(2).padStart(9)}${row.p99.toFixed(2).padStart(9)}`);
  return row;
}

async function measureBaseline() {
  const times = new Float64Array(CALLS);
  for (let i = -WARMUP; i < CALLS; i++) {
    const offset = 40_000 + ((i * 997) % 50_000);
    const t = performance.now();
    const { rows } = await pool.query(
      `SELECT client_id, count(*) FILTER (WHERE status = 'active') AS active, min(expires_at), max(last_used_at)
       FROM ${q}.keys GROUP BY client_id ORDER BY client_id COLLATE "C" OFFSET $1 LIMIT 50`,
      [offset],
    );
    if (i >= 0) times[i] = performance.now() - t;
    if (rows.length !== 50) throw new Error('baseline: short page');
  }
  times.sort();
  const row = { p50: percentile(times, 50), p99: percentile(times, 99) };
  console.log(`${'baseline: deep page by GROUP BY … OFFSET'.padEnd(48)}${row.p50.toFixed(2).padStart(9)}${row.p99.toFixed(2).padStart(9)}`);
  return row;
}

function pin(pid, cpu) {
  if (os.cpus().length < 2 || process.env.BENCH_PIN === '0') return false;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** One process with both apps (bench/lib/usage-pair-app.mjs): counting on and counting off. */
async function startPair(instance, pinned) {
  const child = new JsonChild(PAIR_APP, [tmp], { name: `usage pair ${instance}` });
  children.add(child);
  const ready = await child.next('ready');
  if (pinned) pin(ready.pid, 1);
  return {
    child,
    apps: [
      { counting: true, ...ready.on },
      { counting: false, ...ready.off },
    ],
  };
}

async function load(app, ms) {
  const result = await autocannon({
    url: `http://127.0.0.1:${app.port}/`,
    connections: CONNECTIONS,
    duration: ms / 1000,
    headers: { authorization: `Bearer ${app.key}` },
  });
  if (result.errors > 0 || result.timeouts > 0 || result.non2xx > 0)
    throw new Error(`counting ${app.counting ? 'on' : 'off'}: failed requests`);
  return result['2xx'] / result.duration;
}

async function usageCost(pinned) {
  const ratios = [];
  for (let instance = 0; instance < INSTANCES; instance++) {
    const { child, apps } = await startPair(instance, pinned);
    for (const app of apps) await load(app, WARMUP_MS);
    const rps = { true: [], false: [] };
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? apps : [...apps].reverse();
      for (const app of order) rps[app.counting].push(await load(app, ROUND_MS));
    }
    const ratio = median(rps.true) / median(rps.false);
    ratios.push(ratio);
    console.log(
      `  instance ${instance}: counting on ${Math.round(median(rps.true))} req/s, off ${Math.round(median(rps.false))} req/s, ratio ${ratio.toFixed(3)}` +
        ` (rounds on ${rps.true.map(Math.round).join(' ')}; off ${rps.false.map(Math.round).join(' ')})`,
    );
    await child.stop();
    children.delete(child);
  }
  return { ratio: median(ratios), ratios };
}

async function main() {
  const cpu = os.cpus();
  const version = (await pool.query('SHOW server_version')).rows[0].server_version;
  console.log(
    `keyward bench: operator console on PostgreSQL ${version}, node ${process.version}, ${cpu.length} cpus (${cpu[0]?.model ?? '?'}), load average ${os.loadavg()[0].toFixed(2)}`,
  );
  await store.migrate();
  const now = Date.now();
  const t = performance.now();
  await seed(now);
  console.log(
    `seeded ${CLIENTS} clients, ${CLIENTS + SECOND_KEYS + OPEN_ROTATIONS} keys, ${OPEN_ROTATIONS} open rotations, ` +
      `${OPEN_ROTATIONS * 2 * USAGE_HOURS} hourly usage buckets in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );

  keyward = createKeyward({ store, changes: { interval: false } });
  admin = keywardAdmin({ keyward });
  const serverTimes = [];
  server = http.createServer((req, res) => {
    const t0 = performance.now();
    res.once('finish', () => serverTimes.push(performance.now() - t0));
    admin(req, res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  const client = (n) => `client-${String(n).padStart(6, '0')}`;
  const fingerprint = (await pool.query(`SELECT fingerprint FROM ${q}.keys WHERE id = 'key-77777'`)).rows[0].fingerprint;
  console.log(`\n${'server time per page (ms)'.padEnd(48)}${'p50'.padStart(9)}${'p99'.padStart(9)}`);
  const first = await measurePage(
    'clients: first page',
    () => '/clients',
    (b) => b.includes(client(1)),
    serverTimes,
    url,
  );
  const deep = await measurePage(
    'clients: deep page (after client-0xxxxx)',
    (i) => `/clients?after=${client(40_000 + ((i * 997) % 50_000))}`,
    (b) => b.includes('Next page'),
    serverTimes,
    url,
  );
  const searchId = await measurePage(
    'clients: search by client id prefix',
    (i) => `/clients?q=client-0${String(1000 + i).padStart(4, '0')}`,
    (b) => b.includes('client-0'),
    serverTimes,
    url,
  );
  const searchFp = await measurePage(
    'clients: search by fingerprint',
    () => `/clients?q=${fingerprint}`,
    (b) => b.includes(client(77777)),
    serverTimes,
    url,
  );
  const progress = await measurePage(
    'rotation progress: first page (25 of 1,000)',
    () => '/rotations',
    (b) => b.includes('class="verdict'),
    serverTimes,
    url,
  );
  const cursor = (await pool.query(`SELECT created_at, id FROM ${q}.rotations ORDER BY created_at, id OFFSET 500 LIMIT 1`)).rows[0];
  const progressDeep = await measurePage(
    'rotation progress: a page half-way',
    () => `/rotations?after=${cursor.created_at}:${cursor.id}`,
    (b) => b.includes('class="verdict'),
    serverTimes,
    url,
  );
  const overview = await measurePage(
    'overview',
    () => '/',
    (b) => b.includes('Keys by status'),
    serverTimes,
    url,
  );
  const baseline = await measureBaseline();
  await new Promise((resolve) => server.close(resolve));
  server = undefined;

  const pinned = pin(process.pid, 0);
  console.log(
    `\nusage counting on the hot path: Express + apiKeyAuth, cached key, both apps in one process, ${CONNECTIONS} connections, ${INSTANCES} processes × ${ROUNDS} rounds of ${ROUND_MS / 1000} s${pinned ? ' (autocannon CPU 0, server CPU 1)' : ''}`,
  );
  const cost = await usageCost(pinned);
  const f = (x) => x.toFixed(2);
  const clientsP50 = Math.max(first.p50, deep.p50);
  const searchP50 = Math.max(searchId.p50, searchFp.p50);
  const progressP50 = Math.max(progress.p50, progressDeep.p50);
  console.log(
    `\ngoals: pages p50 <= 50 ms (${Math.max(clientsP50, searchP50, progressP50) <= 50 ? 'met' : 'NOT met'}), usage_cost_ratio >= 0.99 (${cost.ratio >= 0.99 ? 'met' : 'NOT met'}); load average ${os.loadavg()[0].toFixed(2)}`,
  );
  console.log(
    `RESULT clients_p50_ms=${f(clientsP50)} search_p50_ms=${f(searchP50)} progress_p50_ms=${f(progressP50)} usage_cost_ratio=${cost.ratio.toFixed(3)} ` +
      `clients_first_p50_ms=${f(first.p50)} clients_deep_p50_ms=${f(deep.p50)} search_id_p50_ms=${f(searchId.p50)} search_fp_p50_ms=${f(searchFp.p50)} ` +
      `progress_first_p50_ms=${f(progress.p50)} progress_deep_p50_ms=${f(progressDeep.p50)} overview_p50_ms=${f(overview.p50)} ` +
      `baseline_offset_deep_p50_ms=${f(baseline.p50)} deep_vs_offset_ratio=${(baseline.p50 / deep.p50).toFixed(1)}`,
  );
}

async function cleanup() {
  if (server) await new Promise((resolve) => server.close(resolve));
  await Promise.all([...children].map((c) => c.stop()));
  await admin?.close();
  await keyward?.close();
  await pool.query(`DROP SCHEMA IF EXISTS ${q} CASCADE`).catch((e) => console.error(`could not drop ${schema}: ${e.message}`));
  await store.close().catch(() => {});
  await pool.end().catch(() => {});
  rmSync(tmp, { recursive: true, force: true });
}

await runBench(main, cleanup);
