// bench:peers — keyward against the libraries users pick instead, side by side in one run:
// one Express app per library (bench/lib/peer-app.mjs, each in its own process), the same
// GET / route, keys in `X-API-Key`, the same autocannon load (10 connections), rounds
// alternating between the apps. Per app: req/s, p99, server CPU µs per request, store
// queries per request (PostgreSQL: the database's own pg_stat_user_tables; SQLite: counted
// at the driver), and the time from a revoke in one process to the key refused by a second
// process on the same data. The hot path sends 10 keys round-robin (cacheable); the cold
// path draws every request's key at random from a pool of PEERS_POOL keys and runs keyward
// with no in-process cache (`lru.max: 1`, no per-connection memo: Redis, then the store).
//
// RESULT keyward_vs_betterauth=… keyward_vs_passport=… keyward_vs_handrolled=… keyward_cold_vs_handrolled=…
// (each keyward's req/s over the peer's: SQLite keyward vs better-auth and passport, which use
// SQLite too; keyward on PostgreSQL + Redis vs the hand-rolled PostgreSQL check)
//
// Env: PEERS_ROUNDS (4), PEERS_ROUND_MS (2000), PEERS_WARMUP_MS (2000), PEERS_POOL (1000),
// PEERS_ONLY (comma list of apps), DATABASE_URL, REDIS_URL.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { JsonChild, median, percentile } from './lib/json-child.mjs';
import { runBench } from './lib/run-bench.mjs';

const ROUNDS = Number(process.env.PEERS_ROUNDS ?? 4);
const ROUND_MS = Number(process.env.PEERS_ROUND_MS ?? 2000);
const WARMUP_MS = Number(process.env.PEERS_WARMUP_MS ?? 2000);
const CONNECTIONS = 10;
const PG_URL = (() => {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/test');
  if (!url.username && !process.env.PGUSER && !process.env.USER) url.username = encodeURIComponent(os.userInfo().username);
  return url.href;
})();
const APP = fileURLToPath(new URL('./lib/peer-app.mjs', import.meta.url));
const run = `${process.pid}_${Date.now()}`;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'keyward-peers-'));
const children = [];
const schemas = [];

/** [name, peer script name, store kind, path: 'hot' | 'cold'] */
const APPS = [
  ['better-auth', 'betterauth', 'sqlite', 'hot'],
  ['passport', 'passport', 'sqlite', 'hot'],
  ['keyward (SQLite)', 'keyward-sqlite', 'sqlite', 'hot'],
  ['hand-rolled (PostgreSQL)', 'handrolled', 'pg', 'hot'],
  ['keyward (PostgreSQL + Redis)', 'keyward-pg', 'pg', 'hot'],
  ['hand-rolled, cold', 'handrolled', 'pg', 'cold'],
  ['keyward, cold (no LRU)', 'keyward-cold', 'pg', 'cold'],
].filter(([name]) => !process.env.PEERS_ONLY || process.env.PEERS_ONLY.split(',').includes(name));

async function start(peer, role, where) {
  const child = new JsonChild(APP, [peer, role, where], { name: `${peer} ${role}` });
  children.push(child);
  const ready = await child.next('ready');
  return { child, port: ready.port, keys: ready.keys };
}

async function stats(app) {
  app.first.child.send({ type: 'stats' });
  const { user, system, queries } = await app.first.child.next('stats');
  return { cpu: user + system, sqlite: queries };
}

/** Index and sequential scans of the schema's tables, as PostgreSQL counted them. */
async function pgScans(db, schema) {
  await db.query('SELECT pg_stat_clear_snapshot()');
  const { rows } = await db.query(
    'SELECT coalesce(sum(coalesce(seq_scan, 0) + coalesce(idx_scan, 0)), 0)::bigint AS n FROM pg_stat_user_tables WHERE schemaname = $1',
    [schema],
  );
  return Number(rows[0].n);
}

function requestsFor(app) {
  const keys = app.path === 'hot' ? app.keys.slice(0, 10) : app.keys;
  let i = 0;
  const pick = app.path === 'hot' ? () => keys[i++ % keys.length] : () => keys[Math.floor(Math.random() * keys.length)];
  return [{ method: 'GET', path: '/', setupRequest: (req) => ({ ...req, headers: { ...req.headers, 'x-api-key': pick() } }) }];
}

async function load(app, ms) {
  const before = await stats(app);
  const latencies = [];
  const cannon = autocannon({
    url: `http://127.0.0.1:${app.first.port}`,
    connections: CONNECTIONS,
    duration: ms / 1000,
    requests: requestsFor(app),
  });
  cannon.on('response', (_c, _s, _b, t) => latencies.push(t));
  const result = await cannon;
  const after = await stats(app);
  if (result.errors > 0 || result.non2xx > 0) throw new Error(`${app.name}: ${result.errors} errors, ${result.non2xx} non-2xx`);
  const sorted = Float64Array.from(latencies).sort();
  const requests = result['2xx'];
  return {
    rps: requests / result.duration,
    p99: percentile(sorted, 99),
    cpuUs: (after.cpu - before.cpu) / requests,
    sqlitePerReq: (after.sqlite - before.sqlite) / requests,
  };
}

/** Revoke in the first process; ms until the second process refuses the key (it had just accepted it). */
async function revocation(app, key) {
  const get = async () => (await fetch(`http://127.0.0.1:${app.second.port}/`, { headers: { 'x-api-key': key } })).status;
  if ((await get()) !== 200) throw new Error(`${app.name}: the second process refused a live key`);
  app.first.child.send({ type: 'revoke', key });
  await app.first.child.next('revoked');
  const revokedAt = performance.now();
  while (performance.now() - revokedAt < 10_000) {
    if ((await get()) === 401) return performance.now() - revokedAt;
    await sleep(2);
  }
  return Number.POSITIVE_INFINITY;
}

async function main() {
  const db = new pg.Client({ connectionString: PG_URL });
  await db.connect();
  children.push({ stop: () => db.end() });
  const apps = [];
  for (const [index, [name, peer, store, pathKind]] of APPS.entries()) {
    const where = store === 'sqlite' ? path.join(tmp, `${index}-${peer}.db`) : `kwpeers_${index}_${run}`;
    if (store === 'pg') schemas.push(where);
    const first = await start(peer, 'first', where);
    const second = await start(peer, 'second', where);
    apps.push({ name, peer, store, path: pathKind, where, first, second, keys: first.keys, rounds: [] });
    console.error(`started ${name}`);
  }
  for (const app of apps) await load(app, WARMUP_MS);
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? apps : [...apps].reverse();
    for (const app of order) app.rounds.push(await load(app, ROUND_MS));
  }
  // PostgreSQL's per-table counters reach pg_stat_user_tables when a backend is idle (up to
  // 10 s after its last transaction), so each PostgreSQL app gets one more run, then a wait.
  for (const app of apps.filter((a) => a.store === 'pg')) {
    await sleep(11_000);
    const before = await pgScans(db, app.where);
    const { rps } = await load(app, ROUND_MS);
    await sleep(11_000);
    app.pgPerReq = ((await pgScans(db, app.where)) - before) / (rps * (ROUND_MS / 1000));
  }
  for (const app of apps) {
    const samples = [];
    for (const key of app.keys.slice(-3)) samples.push(await revocation(app, key));
    app.revokeMs = Math.max(...samples);
  }

  const m = (app, field) => median(app.rounds.map((r) => r[field]));
  console.log(
    `keyward bench: peers, node ${process.version}, ${os.cpus().length} cpus; ${ROUNDS} rounds of ${ROUND_MS / 1000} s, ${CONNECTIONS} connections, pool ${apps[0]?.keys.length} keys`,
  );
  console.log('app                              req/s     p99 ms   CPU µs/req   store queries/req   revoke → refused in 2nd process');
  for (const app of apps) {
    const queries = app.store === 'pg' ? app.pgPerReq : m(app, 'sqlitePerReq');
    console.log(
      `${app.name.padEnd(30)} ${m(app, 'rps').toFixed(0).padStart(8)} ${m(app, 'p99').toFixed(2).padStart(9)} ${m(app, 'cpuUs').toFixed(1).padStart(11)}` +
        ` ${queries.toFixed(3).padStart(18)}   ${Number.isFinite(app.revokeMs) ? `${app.revokeMs.toFixed(0)} ms` : 'not within 10 s'}`,
    );
  }
  const rps = (name) => {
    const app = apps.find((a) => a.name === name);
    return app ? m(app, 'rps') : Number.NaN;
  };
  const ratio = (a, b) => (rps(a) / rps(b)).toFixed(3);
  console.log(
    `RESULT keyward_vs_betterauth=${ratio('keyward (SQLite)', 'better-auth')} keyward_vs_passport=${ratio('keyward (SQLite)', 'passport')} ` +
      `keyward_vs_handrolled=${ratio('keyward (PostgreSQL + Redis)', 'hand-rolled (PostgreSQL)')} ` +
      `keyward_cold_vs_handrolled=${ratio('keyward, cold (no LRU)', 'hand-rolled, cold')}`,
  );
}

async function cleanup() {
  for (const child of children.reverse()) await (child.stop?.() ?? child.close?.())?.catch?.(() => {});
  if (schemas.length > 0) {
    const db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
    for (const schema of schemas) await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.end();
  }
  rmSync(tmp, { recursive: true, force: true });
}

await runBench(main, cleanup);
