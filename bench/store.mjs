// Lookup latency of PostgresStore.findKeyByHash at 10,000 and at 1,000,000 keys, in one run.
// Run from the repo root: `pnpm run bench:store` (builds first) or `node bench/store.mjs`.
// Uses DATABASE_URL (default postgres://127.0.0.1:5432/test) and schemas of its own, dropped at the end.
//
// 1. Seed 10,000 keys into the bench table, measure.
// 2. Grow the same table to 1,000,000 keys with bulk INSERT ... SELECT batches, measure,
//    alternating rounds with a 10,000-key reference table (same rows, same schema), so that
//    both sizes are also measured under the same machine load.
// Each figure is the quietest round (lowest p50) of its row: other work on a shared machine only
// ever adds latency. RESULT compares the two rows measured alternately. Ends with one line:
//   RESULT p50_10k_us=… p50_1m_us=… p99_10k_us=… p99_1m_us=… ratio=…   (ratio = p50 at 1M / p50 at 10k; goal <= 1.5)
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { PostgresStore } from '@keyward/postgres';
import pg from 'pg';
import { databaseUrl } from './lib/database-url.mjs';
import { runBench } from './lib/run-bench.mjs';

const SMALL = 10_000;
const LARGE = 1_000_000;
const BATCH = 100_000;
const WARMUP = 3_000;
const ROUNDS = 8;
const PER_ROUND = 2_500;
const T0 = Date.UTC(2026, 0, 1);

/** The hash of seeded key number n, computed the same way as the SQL below. */
const hashOf = (n) => createHash('sha256').update(`keyward-bench-${n}`).digest('hex');
const q = (name) => `"${name}"`;
const tag = randomBytes(5).toString('hex');
const pool = new pg.Pool({ connectionString: databaseUrl(), max: 4 });
pool.on('error', () => {});

/** A bench table: its schema and a PostgresStore on it. */
function table(schema) {
  return { schema, store: new PostgresStore({ pool, schema }) };
}
const bench = table(`kwbench_${tag}`);
const reference = table(`kwbench_ref_${tag}`);

/** Inserts keys number `from`..`to` (inclusive) in multi-row INSERT ... SELECT batches of BATCH rows. */
async function seed({ schema }, from, to) {
  for (let start = from; start <= to; start += BATCH) {
    const end = Math.min(to, start + BATCH - 1);
    await pool.query(
      `INSERT INTO ${q(schema)}.keys (id, client_id, key_hash, fingerprint, prefix, status, scopes, metadata,
         created_at, expires_at, status_changed_at, updated_at, version)
       SELECT 'bench-' || g, 'client-' || (g % 50000), h, left(h, 8), 'sk_live',
              CASE WHEN g % 20 = 0 THEN 'revoked' WHEN g % 20 = 1 THEN 'inactive' ELSE 'active' END,
              ARRAY['orders:read'], '{"team":"bench"}'::jsonb,
              $3::bigint + g, $3::bigint + 2592000000 + g, $3::bigint, $3::bigint, 1
       FROM generate_series($1::bigint, $2::bigint) AS g,
            LATERAL (SELECT encode(sha256(convert_to('keyward-bench-' || g, 'UTF8')), 'hex') AS h) AS x`,
      [start, end, T0],
    );
    if (to - from > BATCH && process.stderr.isTTY) process.stderr.write(`  seeded ${end.toLocaleString('en-US')} keys\r`);
  }
  // A table at steady state has been vacuumed (hint bits set, pages written out): autovacuum would do it.
  await pool.query(`VACUUM (ANALYZE) ${q(schema)}.keys`);
  // Write the bulk load out now rather than during the measurement (needs superuser or pg_checkpoint; skipped otherwise).
  await pool.query('CHECKPOINT').catch(() => {});
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

/** One round: `n` sequential lookups of random existing hashes, through the store and as a bare pg query. */
async function round({ schema, store }, count, n) {
  const pick = () => hashOf(randomInt(1, count + 1));
  const raw = { name: `bench_raw_${schema}`, text: `SELECT id FROM ${q(schema)}.keys WHERE key_hash = $1` };
  const storeTimes = new Float64Array(n);
  const rawTimes = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const hash = pick();
    const t0 = performance.now();
    const found = await store.findKeyByHash(hash);
    storeTimes[i] = (performance.now() - t0) * 1000;
    if (found === null) throw new Error(`seeded key ${hash.slice(0, 8)} not found`);
    // Baseline: the same lookup as a bare prepared pg query (no store, no row mapping).
    const t1 = performance.now();
    await pool.query({ ...raw, values: [pick()] });
    rawTimes[i] = (performance.now() - t1) * 1000;
  }
  storeTimes.sort();
  rawTimes.sort();
  return {
    p50: percentile(storeTimes, 50),
    p90: percentile(storeTimes, 90),
    p99: percentile(storeTimes, 99),
    rawP50: percentile(rawTimes, 50),
  };
}

const quietest = (rounds) => rounds.reduce((a, b) => (b.p50 < a.p50 ? b : a));
const fmt = (n) => n.toFixed(1).padStart(9);
const line = (label, r, rounds) =>
  `${label.padEnd(34)}${fmt(r.p50)} ${fmt(r.p90)} ${fmt(r.p99)} ${fmt(r.rawP50)}    ${rounds.map((x) => x.p50.toFixed(0)).join(' ')}`;

async function main() {
  const version = (await pool.query('SHOW server_version')).rows[0].server_version;
  await bench.store.migrate();
  await reference.store.migrate();
  console.log(`keyward bench: PostgresStore.findKeyByHash, PostgreSQL ${version}, node ${process.version}`);
  console.log(`  per size: ${WARMUP} warm-up lookups, then rounds of ${PER_ROUND} sequential lookups of random existing hashes\n`);

  let t = performance.now();
  await seed(bench, 1, SMALL);
  const seedSmall = (performance.now() - t) / 1000;
  await round(bench, SMALL, WARMUP);
  const phase1 = [];
  for (let r = 0; r < ROUNDS; r++) phase1.push(await round(bench, SMALL, PER_ROUND));

  t = performance.now();
  await seed(bench, SMALL + 1, LARGE);
  const seedLarge = (performance.now() - t) / 1000;
  await seed(reference, 1, SMALL);
  await round(bench, LARGE, WARMUP);
  await round(reference, SMALL, WARMUP);
  const large = [];
  const ref = [];
  for (let r = 0; r < ROUNDS; r++) {
    ref.push(await round(reference, SMALL, PER_ROUND));
    large.push(await round(bench, LARGE, PER_ROUND));
  }

  // The headline pair is measured in the same time window (alternating rounds), so machine load cannot skew the ratio.
  const small = quietest(ref);
  const big = quietest(large);
  const size = (await pool.query('SELECT pg_size_pretty(pg_total_relation_size($1)) AS s', [`${q(bench.schema)}.keys`])).rows[0].s;
  console.log(`${'table'.padEnd(34)}   p50 µs    p90 µs    p99 µs raw pg p50 µs  p50 of each round (µs)`);
  console.log(line('10,000 keys (before growing)', quietest(phase1), phase1));
  console.log(line('10,000 keys (reference, alongside)', quietest(ref), ref));
  console.log(line('1,000,000 keys', big, large));
  console.log(
    `\nseeding: ${SMALL.toLocaleString('en-US')} keys in ${seedSmall.toFixed(1)} s; grew by ${(LARGE - SMALL).toLocaleString('en-US')} ` +
      `in ${seedLarge.toFixed(1)} s (${Math.round((LARGE - SMALL) / seedLarge).toLocaleString('en-US')} keys/s, with VACUUM ANALYZE); ` +
      `1M-key table with indexes: ${size}`,
  );
  const ratio = big.p50 / small.p50;
  console.log(`ratio from the reference and 1M rows (measured alternately): p50 at 1M / p50 at 10k = ${ratio.toFixed(2)} (goal <= 1.5)`);
  console.log(
    `RESULT p50_10k_us=${small.p50.toFixed(1)} p50_1m_us=${big.p50.toFixed(1)} p99_10k_us=${small.p99.toFixed(1)} ` +
      `p99_1m_us=${big.p99.toFixed(1)} ratio=${ratio.toFixed(2)}`,
  );
}

async function cleanup() {
  for (const { schema, store } of [bench, reference]) {
    await pool.query(`DROP SCHEMA IF EXISTS ${q(schema)} CASCADE`).catch((e) => console.error(`could not drop ${schema}: ${e.message}`));
    await store.close();
  }
  await pool.end();
}

await runBench(main, cleanup);
