// Verifying a 1,000,000-row audit trail on PostgreSQL: keyward's streaming verify
// (keyset pages, with an anchor) beside the baseline it replaced (read the whole table
// with one listAudit({}), then verifyAuditRows), each in a process of its own so each
// RSS is its own. Run from the repo root: `pnpm run bench:audit` (builds first).
// Uses DATABASE_URL (default postgres://127.0.0.1:5432/test) and a schema of its own,
// dropped at the end. Seeding: the chain is computed with the core's chainAuditEntry
// and bulk-inserted (unnest batches), as the owner would; the store then reads it.
// Ends with one line:
//   RESULT verify_rows_per_s=… verify_rss_mb=… baseline_rows_per_s=… baseline_rss_mb=… rows=…
// Goals: verify_rows_per_s >= 200000, verify_rss_mb <= 200.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { AUDIT_PAGE_SIZE, chainAuditEntry, verifyAuditRows } from '@keyward/core';
import { PostgresStore } from '@keyward/postgres';
import pg from 'pg';
import { databaseUrl } from './lib/database-url.mjs';
import { runBench } from './lib/run-bench.mjs';

const ROWS = Number(process.env.AUDIT_ROWS ?? 1_000_000);
const BATCH = 10_000;
// keyward's default page size (what a caller gets without pageSize) unless AUDIT_PAGE says otherwise.
const PAGE = Number(process.env.AUDIT_PAGE ?? AUDIT_PAGE_SIZE);
const T0 = Date.UTC(2026, 0, 1);

/** Peak RSS while `work` runs (sampled every 20 ms), in MB, with the work's result. */
async function withPeakRss(work) {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  try {
    const t0 = performance.now();
    const result = await work();
    const seconds = (performance.now() - t0) / 1000;
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, seconds, rssMb: Math.round(peak / 1024 / 1024) };
  } finally {
    clearInterval(timer);
  }
}

/** One measurement in this process (run as a child): `stream` or `baseline`. */
async function measure(mode, schema, anchor) {
  const store = new PostgresStore({ connectionString: databaseUrl(), schema, migrate: false });
  try {
    const { createKeyward } = await import('@keyward/core');
    const keyward = createKeyward({ store });
    const run =
      mode === 'stream'
        ? () => keyward.verifyAuditChain({ anchors: [anchor], pageSize: PAGE })
        : async () => verifyAuditRows(await store.listAudit({}));
    const { result, seconds, rssMb } = await withPeakRss(run);
    if (!result.ok || result.count !== ROWS) throw new Error(`${mode}: unexpected report ${JSON.stringify(result)}`);
    process.stdout.write(JSON.stringify({ rowsPerS: Math.round(ROWS / seconds), rssMb, seconds }));
  } finally {
    await store.close();
  }
}

function entry(i) {
  return {
    at: T0 + i * 1000,
    type: i % 10 === 0 ? 'key.rotated' : 'key.used_in_grace',
    clientId: `client-${i % 5000}`,
    keyId: `key-${i}`,
    fingerprint: `fp${(i * 7919).toString(16).padStart(6, '0')}`,
    rotationId: i % 10 === 0 ? `rot-${i}` : null,
    actor: i % 10 === 0 ? 'keyward-scheduler' : null,
    reason: i % 10 === 0 ? 'scheduled: key near expiry' : null,
    data: { uses: i % 17, method: 'GET', path: '/orders' },
  };
}

async function seed(pool, schema) {
  let previous = null;
  for (let start = 1; start <= ROWS; start += BATCH) {
    const cols = { seq: [], at: [], type: [], client: [], key: [], fp: [], rot: [], actor: [], reason: [], data: [], prev: [], hash: [] };
    for (let i = start; i < Math.min(ROWS + 1, start + BATCH); i++) {
      const row = chainAuditEntry(previous, entry(i));
      previous = row;
      cols.seq.push(row.seq);
      cols.at.push(row.at);
      cols.type.push(row.type);
      cols.client.push(row.clientId);
      cols.key.push(row.keyId);
      cols.fp.push(row.fingerprint);
      cols.rot.push(row.rotationId);
      cols.actor.push(row.actor);
      cols.reason.push(row.reason);
      cols.data.push(JSON.stringify(row.data));
      cols.prev.push(row.prevHash);
      cols.hash.push(row.hash);
    }
    await pool.query(
      `INSERT INTO "${schema}".audit_events (seq, at, type, client_id, key_id, fingerprint, rotation_id, actor, reason, data, prev_hash, hash)
       SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::jsonb[], $11::text[], $12::text[])`,
      Object.values(cols),
    );
  }
  return { seq: previous.seq, hash: previous.hash };
}

async function child(mode, schema, anchor) {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), mode, schema, `${anchor.seq}:${anchor.hash}`],
    {
      env: process.env,
      maxBuffer: 1 << 20,
      timeout: 600_000,
    },
  );
  return JSON.parse(stdout);
}

async function main() {
  const schema = `kwbench_audit_${randomBytes(5).toString('hex')}`;
  const pool = new pg.Pool({ connectionString: databaseUrl(), max: 2 });
  pool.on('error', () => {});
  await runBench(
    async () => {
      const owner = new PostgresStore({ pool, schema });
      await owner.migrate();
      const t0 = performance.now();
      const anchor = await seed(pool, schema);
      await pool.query(`ANALYZE "${schema}".audit_events`);
      console.error(`seeded ${ROWS} chained rows in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
      const stream = await child('stream', schema, anchor);
      console.error(`streaming verify (keyset pages of ${PAGE}, 1 anchor): ${stream.rowsPerS} rows/s, peak RSS ${stream.rssMb} MB`);
      const baseline = await child('baseline', schema, anchor);
      console.error(`baseline (listAudit({}) then verifyAuditRows): ${baseline.rowsPerS} rows/s, peak RSS ${baseline.rssMb} MB`);
      console.log(
        `RESULT verify_rows_per_s=${stream.rowsPerS} verify_rss_mb=${stream.rssMb} baseline_rows_per_s=${baseline.rowsPerS} baseline_rss_mb=${baseline.rssMb} rows=${ROWS}`,
      );
    },
    async () => {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await pool.end();
    },
  );
}

const [mode, schema, anchorText] = process.argv.slice(2);
if (mode === 'stream' || mode === 'baseline') {
  const [seq, hash] = anchorText.split(':');
  measure(mode, schema, { seq: Number(seq), hash }).catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
} else {
  await main();
}
