// How long one scheduler pass takes to rotate 10,000 due clients (FileSink) and one to finalize
// them, on PostgreSQL, next to the database's own rate for the same kind of transaction.
// Run from the repo root: `pnpm run bench:rotation` (builds first) or `node bench/rotation.mjs`.
// Uses DATABASE_URL (default postgres://127.0.0.1:5432/test); schemas and temp dirs of its own,
// removed at the end. BENCH_CLIENTS=n runs a smaller fleet (default 10,000).
//
// Per scheduler concurrency (the default 8; and 32 when the default misses the goal):
// 1. Seed: n clients, each with one active key expiring in 5 days (inside rotateBefore = 7d),
//    bulk-written through store.commit (1,000 keys and their `key.issued` audit rows per batch).
// 2. Baselines, with the same concurrency, each on its own schema seeded the same way:
//    a. n store.commit transactions exactly like the one that starts a rotation
//       (insert a key + update a key + insert a rotation + one audit row);
//    b. the same without the audit row (what the serialised audit chain costs);
//    c. the same rows, 100 rotations per transaction (what batching would buy);
//    d. n one-row INSERT transactions (the database's own commit rate);
//    e. n FileSink deliveries alone (write, fsync, rename, fsync of the directory).
// 3. Scheduler.tick() with a FileSink and a ManualClock: every key rotated and delivered
//    (checked: report and one file per client). Then the clock moves past the 48h grace and
//    a second tick() finalizes every rotation (checked). The audit chain is verified at the end.
// The store is wrapped to sum the time of each kind of call, printed as a breakdown per pass.
// 4. Adoption (issue 21): n rotations with grace from first use (grace 1 s, max wait 1 h) on a
//    real clock. Each consumer switches at a random time in the next ADOPT_WINDOW_MS: it uses its
//    old key just before (long after a fixed 1 s grace would have ended), then its new key twice.
//    Every answer must be a 200 (adoption_failed_requests). A second keyward on the same database
//    (another process's view, following the change log) records when it reads each old key's
//    first-use change; first_use_lag_p99_ms is from the consumer's first request to that read.
// BENCH_ONLY_ADOPTION=1 runs step 4 alone.
// Ends with: RESULT rotations_per_s=… finalize_per_s=… (default concurrency), then extra fields.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createKeyward, FileSink, generateKey, hashKey, ManualClock, Scheduler } from '@keyward/core';
import { PostgresStore } from '@keyward/postgres';
import pg from 'pg';
import { databaseUrl } from './lib/database-url.mjs';
import { runBench } from './lib/run-bench.mjs';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 10_000);
const GOAL = 1_000;
const DEFAULT_CONCURRENCY = 8;
const HIGH_CONCURRENCY = 32;
const SEED_BATCH = 1_000;
/** Rotations per transaction in the chunked baseline. */
const CHUNK = 100;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 0, 1);

const tag = randomBytes(4).toString('hex');
const cleanups = [];

/** Runs `fn` over `items` with at most `limit` in flight (as the scheduler does). */
async function eachLimit(items, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function timed(fn) {
  const t = performance.now();
  const value = await fn();
  return { seconds: (performance.now() - t) / 1000, value };
}

function keyRecord(clientId, now, fields = {}) {
  const keyHash = createHash('sha256').update(randomBytes(32)).digest('hex');
  return {
    id: randomUUID(),
    clientId,
    keyHash,
    fingerprint: keyHash.slice(0, 8),
    prefix: 'sk_live',
    status: 'active',
    scopes: ['orders:read'],
    metadata: {},
    createdAt: now,
    expiresAt: now + 5 * DAY,
    graceUntil: null,
    rotationId: null,
    replaces: null,
    revokedAt: null,
    revokedReason: null,
    lastUsedAt: null,
    statusChangedAt: now,
    updatedAt: now,
    version: 1,
    ...fields,
  };
}

function auditEntry(type, at, key, extra = {}) {
  return {
    at,
    type,
    clientId: key.clientId,
    keyId: key.id,
    fingerprint: key.fingerprint,
    rotationId: null,
    actor: 'bench',
    reason: null,
    data: {},
    ...extra,
  };
}

/** n clients with one active key each, written in batches of SEED_BATCH keys (+ their audit rows). */
async function seed(store, n) {
  const keys = [];
  for (let start = 0; start < n; start += SEED_BATCH) {
    const batch = [];
    for (let i = start; i < Math.min(n, start + SEED_BATCH); i++) batch.push(keyRecord(`client-${String(i).padStart(6, '0')}`, T0));
    await store.commit({ at: T0, insertKeys: batch, audit: batch.map((k) => auditEntry('key.issued', T0, k)) });
    keys.push(...batch);
  }
  return keys;
}

/** The writes that start one rotation of `old`, as `startRotation` commits them. */
function rotationWrites(old, at, withAudit) {
  const rotationId = randomUUID();
  const pending = keyRecord(old.clientId, at, { status: 'pending', rotationId, replaces: old.id, expiresAt: at + 30 * DAY });
  return {
    insertKeys: [pending],
    updateKeys: [{ id: old.id, expectedVersion: old.version, patch: { graceUntil: at + 2 * DAY, rotationId } }],
    insertRotations: [
      {
        id: rotationId,
        clientId: old.clientId,
        oldKeyId: old.id,
        newKeyId: pending.id,
        state: 'delivered',
        reason: 'bench',
        actor: 'bench',
        idempotencyKey: `bench:${old.id}`,
        graceUntil: at + 2 * DAY,
        createdAt: at,
        updatedAt: at,
        completedAt: null,
        lastError: null,
        graceFrom: 'rotation',
        graceMs: null,
        firstUsedAt: null,
        version: 1,
      },
    ],
    audit: withAudit ? [auditEntry('key.rotated', at, pending, { rotationId })] : [],
  };
}

/**
 * Starts a rotation for every key with raw store.commit calls, `perCommit` rotations per
 * transaction (1: exactly the transaction `startRotation` commits), `concurrency` at once.
 */
async function baselineCommits(store, keys, concurrency, { withAudit = true, perCommit = 1 } = {}) {
  const at = T0 + HOUR;
  const chunks = [];
  for (let i = 0; i < keys.length; i += perCommit) chunks.push(keys.slice(i, i + perCommit));
  await eachLimit(chunks, concurrency, async (chunk) => {
    const writes = chunk.map((old) => rotationWrites(old, at, withAudit));
    const pick = (field) => writes.flatMap((w) => w[field]);
    await store.commit({
      at,
      insertKeys: pick('insertKeys'),
      updateKeys: pick('updateKeys'),
      insertRotations: pick('insertRotations'),
      audit: pick('audit'),
    });
  });
}

/** The database's own rate: n one-row INSERT transactions (autocommit) with the same concurrency. */
async function rawCommits(pool, schema, n, concurrency) {
  const table = `"${schema}".bench_raw`;
  await pool.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, at bigint NOT NULL)`);
  const items = Array.from({ length: n }, (_, i) => i);
  const t = performance.now();
  await eachLimit(items, concurrency, (i) => pool.query(`INSERT INTO ${table} (id, at) VALUES ($1, $2)`, [i, T0]));
  return n / ((performance.now() - t) / 1000);
}

async function fileSinkAlone(dir, n, concurrency) {
  const sink = new FileSink({ dir });
  const items = Array.from({ length: n }, (_, i) => i);
  await eachLimit(items, concurrency, (i) =>
    sink.deliver({
      rotationId: randomUUID(),
      clientId: `client-${i}`,
      keyId: randomUUID(),
      key: `sk_live_${randomBytes(32).toString('base64url')}`,
      fingerprint: '00000000',
      graceUntil: T0,
      expiresAt: null,
    }),
  );
}

async function tempDir(what) {
  const dir = await mkdtemp(join(tmpdir(), `keyward-bench-${what}-`));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The store, with the wall time of every call summed per kind (a commit is named by what it
 * writes), so the report can say where a pass spends its time. Costs two performance.now() a call.
 */
function instrument(store) {
  const spent = new Map();
  const kind = (method, args) => {
    if (method !== 'commit') return method;
    const b = args[0];
    if (b.insertRotations?.length) return 'commit: start rotation';
    if (b.updateRotations?.length && !b.updateKeys?.length) return 'commit: mark delivered';
    if (b.updateRotations?.length) return 'commit: finalize';
    return 'commit: other';
  };
  const proxy = new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      return async (...args) => {
        const name = kind(String(prop), args);
        const t = performance.now();
        try {
          return await value.apply(target, args);
        } finally {
          const entry = spent.get(name) ?? { calls: 0, ms: 0 };
          entry.calls += 1;
          entry.ms += performance.now() - t;
          spent.set(name, entry);
        }
      };
    },
  });
  return { store: proxy, spent };
}

function check(condition, message) {
  if (!condition) throw new Error(`bench check failed: ${message}`);
}

/** Everything for one concurrency: baselines, then the two timed passes. */
async function run(concurrency) {
  const pool = new pg.Pool({ connectionString: databaseUrl(), max: Math.max(10, concurrency + 2) });
  pool.on('error', () => {});
  const schemas = ['rot', 'base', 'noaudit', 'chunked'].map((what) => `kwbench_${what}_${tag}_${concurrency}`);
  cleanups.push(async () => {
    for (const schema of schemas) {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch((e) => console.error(`could not drop ${schema}: ${e.message}`));
    }
    await pool.end();
  });
  const engineStore = new PostgresStore({ pool, schema: schemas[0] });
  const baseStore = new PostgresStore({ pool, schema: schemas[1] });
  const noAuditStore = new PostgresStore({ pool, schema: schemas[2] });
  const chunkedStore = new PostgresStore({ pool, schema: schemas[3] });

  const seeding = await timed(async () => {
    await seed(engineStore, CLIENTS);
    return [await seed(baseStore, CLIENTS), await seed(noAuditStore, CLIENTS), await seed(chunkedStore, CLIENTS)];
  });
  const [baseKeys, noAuditKeys, chunkedKeys] = seeding.value;
  await pool.query(`VACUUM (ANALYZE) ${schemas.map((s) => `"${s}".keys`).join(', ')}`);

  const rawPerS = await rawCommits(pool, schemas[1], CLIENTS, concurrency);
  const commits = await timed(() => baselineCommits(baseStore, baseKeys, concurrency));
  const noAudit = await timed(() => baselineCommits(noAuditStore, noAuditKeys, concurrency, { withAudit: false }));
  const chunked = await timed(() => baselineCommits(chunkedStore, chunkedKeys, concurrency, { perCommit: CHUNK }));
  const files = await timed(async () => fileSinkAlone(await tempDir('sinkonly'), CLIENTS, concurrency));

  const clock = new ManualClock(T0 + HOUR);
  const measured = instrument(engineStore);
  const keyward = createKeyward({ store: measured.store, clock });
  const keyDir = await tempDir('keys');
  const sink = new FileSink({ dir: keyDir });
  let sinkMs = 0;
  const timedSink = {
    name: sink.name,
    deliver: async (d) => {
      const t = performance.now();
      await sink.deliver(d);
      sinkMs += performance.now() - t;
    },
  };
  // A fixed grace: this pass measures rotate and finalize throughput (adoption has its own run below).
  const scheduler = new Scheduler(keyward, { sink: timedSink, concurrency, graceFrom: 'rotation' });
  const cpu = process.cpuUsage();
  const rotate = await timed(() => scheduler.tick());
  const { user, system } = process.cpuUsage(cpu);
  const rotateSpent = new Map(measured.spent);
  measured.spent.clear();
  check(rotate.value.ok && rotate.value.failed === 0, `rotate pass failed: ${JSON.stringify(rotate.value)}`);
  check(rotate.value.rotated === CLIENTS && rotate.value.delivered === CLIENTS, `rotated ${rotate.value.rotated}, expected ${CLIENTS}`);
  const written = (await readdir(keyDir)).filter((f) => f.endsWith('.key')).length;
  check(written === CLIENTS, `${written} key files, expected ${CLIENTS}`);

  clock.advance(49 * HOUR); // past the default 48h grace
  const finalize = await timed(() => scheduler.tick());
  check(finalize.value.ok && finalize.value.failed === 0, `finalize pass failed: ${JSON.stringify(finalize.value)}`);
  check(finalize.value.finalized === CLIENTS && finalize.value.rotated === 0, `finalized ${finalize.value.finalized}, expected ${CLIENTS}`);
  const states = await pool.query(`SELECT state, count(*)::int AS n FROM "${schemas[0]}".rotations GROUP BY state`);
  check(states.rows.length === 1 && states.rows[0].state === 'completed' && states.rows[0].n === CLIENTS, JSON.stringify(states.rows));
  const finalizeSpent = new Map(measured.spent);
  const chain = await keyward.verifyAuditChain();
  check(chain.ok && chain.count === 4 * CLIENTS, `audit chain: ${JSON.stringify(chain)}`);
  await keyward.close();

  return {
    concurrency,
    seedS: seeding.seconds,
    rotateS: rotate.seconds,
    finalizeS: finalize.seconds,
    sinkShare: sinkMs / 1000 / concurrency / rotate.seconds,
    nodeCpu: (user + system) / 1e6 / rotate.seconds,
    sinkMs,
    rotateSpent,
    finalizeSpent,
    rawPerS,
    commitsPerS: CLIENTS / commits.seconds,
    noAuditPerS: CLIENTS / noAudit.seconds,
    chunkedPerS: CLIENTS / chunked.seconds,
    filesPerS: CLIENTS / files.seconds,
    rotationsPerS: CLIENTS / rotate.seconds,
    finalizePerS: CLIENTS / finalize.seconds,
  };
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');

function row(cells, width = 15) {
  return cells.map((c, i) => (i === 0 ? String(c).padEnd(13) : String(c).padStart(width))).join('');
}

function table(results) {
  console.log('scheduler passes (Scheduler.tick, FileSink, PostgresStore)');
  console.log(row(['concurrency', 'rotate pass', 'rotations/s', 'finalize pass', 'finalized/s']));
  for (const r of results) {
    console.log(
      row([r.concurrency, `${r.rotateS.toFixed(2)} s`, fmt(r.rotationsPerS), `${r.finalizeS.toFixed(2)} s`, fmt(r.finalizePerS)]),
    );
  }
  console.log('\nbaselines, same concurrency, same machine, same run (per second)');
  console.log(row(['concurrency', 'rotation tx', 'same, no audit', `${CHUNK} per tx`, 'raw 1-row tx', 'FileSink alone']));
  for (const r of results) {
    console.log(row([r.concurrency, fmt(r.commitsPerS), fmt(r.noAuditPerS), fmt(r.chunkedPerS), fmt(r.rawPerS), fmt(r.filesPerS)]));
  }
  console.log(
    `\n${CLIENTS.toLocaleString('en-US')} due clients; ManualClock; FileSink in a temp dir. rotation tx: store.commit transactions ` +
      'exactly like the one that starts a rotation (insert key + update key + insert rotation + one audit row); ' +
      `no audit: the same without the audit row; ${CHUNK} per tx: the same rows, ${CHUNK} rotations per transaction ` +
      '(rotations/s); raw 1-row tx: one-row INSERT transactions; FileSink alone: deliveries/s.',
  );
  for (const r of results) {
    console.log(
      `concurrency ${r.concurrency}: one scheduled rotation costs ${(r.commitsPerS / r.rotationsPerS).toFixed(1)}x one rotation tx ` +
        '(it commits twice, started then delivered, around the reads and the file); ' +
        `the sink took ${(100 * r.sinkShare).toFixed(0)}% of the rotate pass's worker time; ` +
        `this Node process used ${(100 * r.nodeCpu).toFixed(0)}% of one core; seeding took ${r.seedS.toFixed(1)} s.`,
    );
  }
  for (const r of results) breakdown(r);
}

/** Where the passes' worker time went: per kind of store call (and the sink), mean ms and share of the pass. */
function breakdown(r) {
  const show = (title, spent, seconds, extra = []) => {
    const rows = [...spent].map(([name, e]) => [name, e.calls, e.ms]).concat(extra);
    const workerMs = seconds * 1000 * r.concurrency;
    console.log(`\n${title} (concurrency ${r.concurrency}): calls, mean ms per call, share of the workers' time`);
    for (const [name, calls, ms] of rows.sort((x, y) => y[2] - x[2])) {
      console.log(
        `  ${name.padEnd(32)}${String(calls).padStart(8)}${(ms / calls).toFixed(2).padStart(10)}${`${((100 * ms) / workerMs).toFixed(0)}%`.padStart(7)}`,
      );
    }
  };
  show('rotate pass', r.rotateSpent, r.rotateS, [['FileSink.deliver', CLIENTS, r.sinkMs]]);
  show('finalize pass', r.finalizeSpent, r.finalizeS);
}

const ADOPT_WINDOW_MS = Number(process.env.BENCH_ADOPT_WINDOW_MS ?? 10_000);

/** Issue 21's run: first-use rotations whose consumers switch at random times; see the header. */
async function adoption() {
  const pool = new pg.Pool({ connectionString: databaseUrl(), max: 12 });
  pool.on('error', () => {});
  const schema = `kwbench_adopt_${tag}`;
  cleanups.push(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch((e) => console.error(`could not drop ${schema}: ${e.message}`));
    await pool.end();
  });
  const store = new PostgresStore({ pool, schema });
  const now = Date.now();
  const consumers = [];
  for (let start = 0; start < CLIENTS; start += SEED_BATCH) {
    const batch = [];
    for (let i = start; i < Math.min(CLIENTS, start + SEED_BATCH); i++) {
      const plaintext = generateKey('sk_live');
      const record = keyRecord(`client-${String(i).padStart(6, '0')}`, now, { keyHash: hashKey(plaintext), expiresAt: now + 30 * DAY });
      batch.push({ ...record, fingerprint: record.keyHash.slice(0, 8) });
      consumers.push({ old: plaintext, oldHash: record.keyHash });
    }
    await store.commit({ at: now, insertKeys: batch, audit: batch.map((k) => auditEntry('key.issued', now, k)) });
  }
  // The consumers' API process, and another process that only follows the change log.
  const api = createKeyward({ store, grace: '1s', lru: { max: 3 * CLIENTS }, lastUsed: { flushInterval: '1h' } });
  const otherStore = new PostgresStore({ connectionString: databaseUrl(), schema, migrate: false });
  const heardAt = new Map();
  const readChanges = otherStore.readChanges.bind(otherStore);
  otherStore.readChanges = async (query) => {
    const page = await readChanges(query);
    const at = performance.now();
    for (const change of page.changes) if (change.version === 3 && !heardAt.has(change.keyHash)) heardAt.set(change.keyHash, at);
    return page;
  };
  const other = createKeyward({ store: otherStore });
  await other.catchUp();
  const byClient = new Map(consumers.map((c, i) => [`client-${String(i).padStart(6, '0')}`, c]));
  const keys = await store.listKeys({ status: ['active'] });
  const started = performance.now();
  for (let i = 0; i < keys.length; i += CHUNK) {
    const chunk = keys.slice(i, i + CHUNK).map((key) => ({ key, idempotencyKey: `adopt:${key.id}` }));
    const results = await api.startRotations(chunk, { actor: 'bench', graceFrom: 'first-use', maxWait: '1h' });
    check(results !== undefined, 'a batch of first-use rotations lost a race');
    for (const r of results) byClient.get(r.clientId).new = r.key;
    check(await api.markDeliveredMany(results, { actor: 'bench' }), 'could not mark a batch delivered');
  }
  const rotateS = (performance.now() - started) / 1000;
  // The grace after first use is 1 s: shorter than the window, so a fixed grace would cut most consumers off.
  const rotations = await store.listRotations({ state: ['delivered'] });
  check(rotations.length === CLIENTS && rotations.every((r) => r.graceFrom === 'first-use'), 'not every rotation is first-use');
  let failed = 0;
  const firstUse = new Map();
  const t0 = performance.now();
  await Promise.all(
    consumers.map(async (c) => {
      const switchAt = Math.random() * ADOPT_WINDOW_MS;
      await new Promise((r) => setTimeout(r, switchAt));
      if (!(await api.verify(c.old)).valid) failed++;
      firstUse.set(c.oldHash, performance.now());
      if (!(await api.verify(c.new)).valid) failed++;
      await new Promise((r) => setTimeout(r, 200));
      if (!(await api.verify(c.new)).valid) failed++;
    }),
  );
  const adoptS = (performance.now() - t0) / 1000;
  await api.firstUsesRecorded();
  const deadline = performance.now() + 10_000;
  while (heardAt.size < CLIENTS && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const lags = consumers
    .map((c) => (heardAt.get(c.oldHash) ?? Number.POSITIVE_INFINITY) - (firstUse.get(c.oldHash) ?? 0))
    .sort((a, b) => a - b);
  const p = (q) => lags[Math.min(lags.length - 1, Math.ceil(q * lags.length) - 1)];
  const switched = await pool.query(`SELECT count(*)::int AS n FROM "${schema}".rotations WHERE first_used_at IS NOT NULL`);
  const switchRows = await pool.query(`SELECT count(*)::int AS n FROM "${schema}".audit_events WHERE type = 'rotation.switched'`);
  console.log(
    `adoption: ${CLIENTS} first-use rotations started in ${rotateS.toFixed(1)} s; consumers switched over ${adoptS.toFixed(1)} s; ` +
      `${failed} failed requests of ${3 * CLIENTS}; ${switched.rows[0].n} rotations switched, ${switchRows.rows[0].n} rotation.switched rows; ` +
      `first use heard by the other process: p50 ${p(0.5).toFixed(0)} ms, p99 ${p(0.99).toFixed(0)} ms, max ${lags.at(-1).toFixed(0)} ms\n`,
  );
  check(switched.rows[0].n === CLIENTS && switchRows.rows[0].n === CLIENTS, 'every rotation switched exactly once');
  await api.close();
  await other.close();
  await otherStore.close();
  return { failed, lagP99: p(0.99), lagP50: p(0.5) };
}

async function main() {
  if (process.env.BENCH_ONLY_ADOPTION === '1') {
    const adopted = await adoption();
    console.log(
      `RESULT adoption_failed_requests=${adopted.failed} first_use_lag_p99_ms=${Math.round(adopted.lagP99)} first_use_lag_p50_ms=${Math.round(adopted.lagP50)}`,
    );
    return;
  }
  console.log(`bench:rotation — ${CLIENTS.toLocaleString('en-US')} clients, goal >= ${GOAL} rotations/s\n`);
  const results = [await run(DEFAULT_CONCURRENCY)];
  const [base] = results;
  if (base.rotationsPerS < GOAL) {
    console.log(`default concurrency (${DEFAULT_CONCURRENCY}) is below the goal: measuring concurrency ${HIGH_CONCURRENCY} too\n`);
    results.push(await run(HIGH_CONCURRENCY));
  }
  table(results);
  const adopted = await adoption();
  const high = results[1];
  const extra = high
    ? ` rotations_per_s_c${high.concurrency}=${fmt(high.rotationsPerS)} finalize_per_s_c${high.concurrency}=${fmt(high.finalizePerS)}`
    : '';
  console.log(
    `RESULT rotations_per_s=${Math.round(base.rotationsPerS)} finalize_per_s=${Math.round(base.finalizePerS)} ` +
      `baseline_commits_per_s=${Math.round(base.commitsPerS)} baseline_noaudit_commits_per_s=${Math.round(base.noAuditPerS)} ` +
      `baseline_chunked_rotations_per_s=${Math.round(base.chunkedPerS)} raw_commits_per_s=${Math.round(base.rawPerS)} ` +
      `file_writes_per_s=${Math.round(base.filesPerS)} concurrency=${base.concurrency}${extra.replaceAll(',', '')} ` +
      `adoption_failed_requests=${adopted.failed} first_use_lag_p99_ms=${Math.round(adopted.lagP99)} first_use_lag_p50_ms=${Math.round(adopted.lagP50)}`,
  );
}

async function cleanup() {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch((e) => console.error(`cleanup: ${e.message}`));
}

await runBench(main, cleanup);
