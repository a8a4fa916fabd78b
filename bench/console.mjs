// The operator console's store queries on PostgreSQL at 100,000 clients (110,000 keys),
// 1,000 open rotations (and 20,000 closed ones): listClients (first page, deep pages, id
// and fingerprint search, status and expiry filters), listRotationsPage, countKeysByStatus.
// Run from the repo root: `pnpm run bench:console` (builds first) or `node bench/console.mjs`.
// `--explain` also prints EXPLAIN (ANALYZE, BUFFERS) of one query of each case.
// Uses DATABASE_URL (default postgres://127.0.0.1:5432/test) and a schema of its own, dropped at the end.
// Each case: warm-up calls, then sequential calls through PostgresStore with varying arguments.
// Ends with one line (goal: every p50 <= 50 ms):
//   RESULT first_page_p50_ms=… deep_page_p50_ms=… search_id_p50_ms=… search_fp_p50_ms=… rotations_p50_ms=… …
//          baseline_offset_deep_p50_ms=… (the same deep page by GROUP BY … OFFSET, a bare pg query)
import { randomBytes, randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { PostgresStore } from '@keyward/postgres';
import pg from 'pg';
import { databaseUrl } from './lib/database-url.mjs';
import { runBench } from './lib/run-bench.mjs';

const CLIENTS = 100_000;
const SECOND_KEYS = 10_000;
const OPEN_ROTATIONS = 1_000;
const CLOSED_ROTATIONS = 20_000;
const WARMUP = 20;
const CALLS = 200;
const PAGE = 50;
const T0 = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;
const explain = process.argv.includes('--explain');

const schema = `kwconsole_${randomBytes(5).toString('hex')}`;
const q = `"${schema}"`;
const pool = new pg.Pool({ connectionString: databaseUrl(), max: 4 });
pool.on('error', () => {});

// The store's pool, recording the last query it ran, so --explain can show that query's plan.
let last;
const recording = new Proxy(pool, {
  get(target, prop) {
    if (prop === 'query') {
      return (config, ...rest) => {
        last = config;
        return target.query(config, ...rest);
      };
    }
    const value = Reflect.get(target, prop);
    return typeof value === 'function' ? value.bind(target) : value;
  },
});
const store = new PostgresStore({ pool: recording, schema });

const clientId = (n) => `client-${String(n).padStart(6, '0')}`;

async function seed() {
  // One active key per client; every tenth client also has a second key (pending, inactive or revoked).
  // Hashes are sha256 of the key number, so fingerprints are spread like real ones.
  await pool.query(
    `INSERT INTO ${q}.keys (id, client_id, key_hash, fingerprint, prefix, status, scopes, metadata,
       created_at, expires_at, last_used_at, status_changed_at, updated_at, version)
     SELECT 'key-' || g, 'client-' || lpad(c::text, 6, '0'), h, left(h, 8), 'sk_live', s,
            ARRAY['orders:read'], '{}'::jsonb, $1::bigint + g, $1::bigint + (g % 365)::bigint * ${DAY}, $1::bigint + g::bigint * 10,
            $1::bigint, $1::bigint, 1
     FROM (SELECT g, g AS c, 'active' AS s FROM generate_series(1, ${CLIENTS}) AS g
           UNION ALL
           SELECT ${CLIENTS} + g, g * 10, (ARRAY['pending', 'inactive', 'revoked'])[1 + g % 3] FROM generate_series(1, ${SECOND_KEYS}) AS g) AS k,
          LATERAL (SELECT encode(sha256(convert_to('keyward-console-' || g, 'UTF8')), 'hex') AS h) AS x`,
    [T0],
  );
  // Open rotations for the first clients (at most one open per client), closed ones for others.
  await pool.query(
    `INSERT INTO ${q}.rotations (id, client_id, old_key_id, new_key_id, state, grace_until, created_at, updated_at, version)
     SELECT 'rot-' || g, 'client-' || lpad(g::text, 6, '0'), 'key-' || g, 'key-' || g,
            CASE WHEN g <= ${OPEN_ROTATIONS} THEN (CASE WHEN g % 2 = 0 THEN 'started' ELSE 'delivered' END) ELSE 'completed' END,
            $1::bigint + ${DAY}, $1::bigint + (g % 500)::bigint * 1000, $1::bigint, 1
     FROM generate_series(1, ${OPEN_ROTATIONS + CLOSED_ROTATIONS}) AS g`,
    [T0],
  );
  await pool.query(`VACUUM (ANALYZE) ${q}.keys`);
  await pool.query(`VACUUM (ANALYZE) ${q}.rotations`);
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

/** Times `CALLS` sequential calls of `call(i)` after `WARMUP` untimed ones; checks each answer with `check`. */
async function measure(name, call, check) {
  last = undefined;
  for (let i = 0; i < WARMUP; i++) check(await call(i));
  const times = new Float64Array(CALLS);
  for (let i = 0; i < CALLS; i++) {
    const t = performance.now();
    const result = await call(i);
    times[i] = performance.now() - t;
    check(result);
  }
  times.sort();
  const row = { name, p50: percentile(times, 50), p99: percentile(times, 99) };
  console.log(`${name.padEnd(44)}${row.p50.toFixed(2).padStart(9)}${row.p99.toFixed(2).padStart(9)}`);
  // The baseline runs on the bare pool: no store query recorded, no plan to show.
  if (explain && last !== undefined) {
    const plan = await pool.query({ text: `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${last.text}`, values: last.values });
    console.log(`${plan.rows.map((r) => `    ${r['QUERY PLAN']}`).join('\n')}\n`);
  }
  return row;
}

const expect = (what, ok) => {
  if (!ok) throw new Error(`unexpected answer: ${what}`);
};

async function main() {
  const version = (await pool.query('SHOW server_version')).rows[0].server_version;
  await store.migrate();
  const t = performance.now();
  await seed();
  const keys = (await pool.query(`SELECT count(*)::int AS n FROM ${q}.keys`)).rows[0].n;
  console.log(`keyward bench: console queries on PostgresStore, PostgreSQL ${version}, node ${process.version}`);
  console.log(
    `  ${CLIENTS.toLocaleString('en-US')} clients, ${keys.toLocaleString('en-US')} keys, ${OPEN_ROTATIONS} open and ` +
      `${CLOSED_ROTATIONS.toLocaleString('en-US')} closed rotations (seeded in ${((performance.now() - t) / 1000).toFixed(1)} s); ` +
      `per case ${WARMUP} warm-up then ${CALLS} sequential calls, page size ${PAGE}\n`,
  );
  console.log(`${'case'.padEnd(44)}   p50 ms   p99 ms`);
  const hashes = (await pool.query(`SELECT key_hash FROM ${q}.keys ORDER BY random() LIMIT ${CALLS}`)).rows.map((r) => r.key_hash);
  const full = (page) => expect('a full page', page.clients.length === PAGE && page.next !== null);
  const r = {};
  r.first = await measure('listClients first page', () => store.listClients({ limit: PAGE }), full);
  r.deep = await measure(
    'listClients deep page (after a random client)',
    () => store.listClients({ limit: PAGE, after: clientId(randomInt(50_000, CLIENTS - PAGE)) }),
    full,
  );
  r.searchId = await measure(
    'listClients search: client id prefix',
    () => store.listClients({ limit: PAGE, search: clientId(randomInt(1, CLIENTS)).slice(0, -2) }),
    (page) => expect('matches', page.clients.length > 0),
  );
  r.searchFp = await measure(
    'listClients search: fingerprint prefix',
    (i) => store.listClients({ limit: PAGE, search: hashes[i % hashes.length].slice(0, 6).toUpperCase() }),
    (page) => expect('a match', page.clients.length >= 1),
  );
  r.status = await measure('listClients status = revoked', () => store.listClients({ limit: PAGE, status: ['revoked'] }), full);
  r.expiring = await measure(
    'listClients expiring within 7 days',
    () => store.listClients({ limit: PAGE, expiresBefore: T0 + 7 * DAY }),
    full,
  );
  r.rotations = await measure(
    'listRotationsPage open, first page',
    () => store.listRotationsPage({ state: ['started', 'delivered'], limit: PAGE }),
    (rows) => expect('a full page', rows.length === PAGE),
  );
  r.rotationsAfter = await measure(
    'listRotationsPage open, after the middle',
    () => store.listRotationsPage({ state: ['started', 'delivered'], limit: PAGE, after: { createdAt: T0 + 250_000, id: 'rot-5' } }),
    (rows) => expect('a full page', rows.length === PAGE),
  );
  r.counts = await measure(
    'countKeysByStatus',
    () => store.countKeysByStatus(),
    (c) => expect('all keys', c.active > 0),
  );
  // Baseline: the same deep page the obvious way (group every key by client, OFFSET to the page), a bare pg query.
  r.offset = await measure(
    'baseline: deep page by OFFSET (bare pg)',
    () =>
      pool.query({
        text: `SELECT client_id, count(*) AS n, max(last_used_at) AS last_used_at FROM ${q}.keys
               GROUP BY client_id ORDER BY client_id COLLATE "C" OFFSET $1 LIMIT ${PAGE}`,
        values: [randomInt(50_000, CLIENTS - PAGE)],
      }),
    (result) => expect('a full page', result.rows.length === PAGE),
  );
  const worst = Math.max(r.first.p50, r.deep.p50, r.searchId.p50, r.searchFp.p50, r.rotations.p50);
  console.log(`\nslowest p50 of the cases with a goal (pages, searches, rotations): ${worst.toFixed(2)} ms (goal <= 50 ms)`);
  const f = (x) => x.p50.toFixed(2);
  console.log(
    `RESULT first_page_p50_ms=${f(r.first)} deep_page_p50_ms=${f(r.deep)} search_id_p50_ms=${f(r.searchId)} ` +
      `search_fp_p50_ms=${f(r.searchFp)} status_p50_ms=${f(r.status)} expiring_p50_ms=${f(r.expiring)} ` +
      `rotations_p50_ms=${f(r.rotations)} rotations_after_p50_ms=${f(r.rotationsAfter)} counts_p50_ms=${f(r.counts)} ` +
      `first_page_p99_ms=${r.first.p99.toFixed(2)} deep_page_p99_ms=${r.deep.p99.toFixed(2)} ` +
      `baseline_offset_deep_p50_ms=${f(r.offset)}`,
  );
}

async function cleanup() {
  await pool.query(`DROP SCHEMA IF EXISTS ${q} CASCADE`).catch((e) => console.error(`could not drop ${schema}: ${e.message}`));
  await store.close();
  await pool.end();
}

await runBench(main, cleanup);
