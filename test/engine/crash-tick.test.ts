import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createKeyward,
  FileSink,
  type KeyStore,
  keyFileName,
  ManualClock,
  OPEN_ROTATION_STATES,
  type PassReport,
  Scheduler,
  verifyAuditRows,
} from '@keyward/core';
import { PostgresStore } from '@keyward/postgres';
import { SqliteStore } from '@keyward/sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropSchema, randomSchema, testUrl } from '../../packages/postgres/src/test-db.js';
import { cleanEnv, requireBuiltCli, spawnCli } from '../cli/run-cli.js';

// `keyward tick --sink-dir D` over a few hundred due keys, SIGKILLed at several points of
// its pass: before any file is in place, after the first, in the middle of each batch of
// deliveries, near the end. Then a recovery pass (a fresh process's scheduler, its clock
// past `staleAfter`, the same sink directory) must leave every key file in D holding a
// key that still verifies: recovery never revokes a key that a consumer may hold.

const CLIENTS = 240;
const MINUTE = 60_000;
/** When to kill the pass: after how many key files are in place (`0`: as soon as the first temporary file appears). */
const KILL_AFTER_FILES = [0, 1, 30, 90, 150, 200];

interface Target {
  /** A database with CLIENTS keys due for rotation; `env` points the CLI at it. */
  fresh(): Promise<{ env: NodeJS.ProcessEnv; open(): KeyStore; cleanup(): Promise<void> }>;
  close(): Promise<void>;
}

async function issueDueKeys(store: KeyStore): Promise<void> {
  const keyward = createKeyward({ store });
  for (let i = 0; i < CLIENTS; i += 20) {
    await Promise.all(Array.from({ length: Math.min(20, CLIENTS - i) }, (_, j) => keyward.issue(`client-${i + j}`, { ttl: '3d' })));
  }
}

function sqliteTarget(): Target {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-crash-tick-'));
  const template = join(dir, 'template.db');
  let made: Promise<void> | undefined;
  let round = 0;
  return {
    async fresh() {
      made ??= (async () => {
        const store = new SqliteStore({ path: template });
        await issueDueKeys(store);
        await store.close();
      })();
      await made;
      const file = join(dir, `round-${++round}.db`);
      copyFileSync(template, file);
      if (existsSync(`${template}-wal`)) copyFileSync(`${template}-wal`, `${file}-wal`);
      return { env: cleanEnv({ KEYWARD_DATABASE_URL: file }), open: () => new SqliteStore({ path: file }), cleanup: async () => {} };
    },
    async close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresTarget(): Target {
  const url = testUrl();
  return {
    async fresh() {
      const schema = randomSchema('kwcrashtick');
      const store = new PostgresStore({ connectionString: url, schema });
      await store.migrate();
      await issueDueKeys(store);
      await store.close();
      return {
        env: cleanEnv({ KEYWARD_DATABASE_URL: url, KEYWARD_DATABASE_SCHEMA: schema }),
        open: () => new PostgresStore({ connectionString: url, schema, migrate: false }),
        cleanup: () => dropSchema(schema),
      };
    },
    async close() {},
  };
}

/** Runs `keyward tick --sink-dir dir` and SIGKILLs it once `files` key files are in place. */
async function tickAndKill(env: NodeJS.ProcessEnv, dir: string, files: number): Promise<{ killed: boolean; files: number }> {
  const run = spawnCli(['tick', '--sink-dir', dir], env);
  let exited = false;
  void run.exited.then(() => {
    exited = true;
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const entries = existsSync(dir) ? readdirSync(dir) : [];
    const keys = entries.filter((name) => name.endsWith('.key')).length;
    if ((files === 0 ? entries.length > 0 : keys >= files) || exited) break;
    if (Date.now() > deadline) {
      run.child.kill('SIGKILL');
      throw new Error(`the pass never wrote ${files} files; output: ${run.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const killed = run.child.kill('SIGKILL') && !exited;
  await run.exited;
  if (!killed) expect(run.output()).not.toMatch(/error|failed [1-9]/i);
  return { killed, files: readdirSync(dir).filter((name) => name.endsWith('.key')).length };
}

/** A restarted scheduler, its clock past `staleAfter` (1h), with a FileSink on the same directory. */
async function recover(store: KeyStore, dir: string): Promise<{ report: PassReport; clock: ManualClock }> {
  const clock = new ManualClock(Date.now() + 61 * MINUTE);
  const keyward = createKeyward({ store, clock });
  const report = await new Scheduler(keyward, { sink: new FileSink({ dir }) }).tick();
  await keyward.close();
  return { report, clock };
}

/** Every key file holds a key that verifies (active or pending) for its own client; one pending key per client; the chain verifies. */
async function checkAfterRecovery(store: KeyStore, dir: string, clock: ManualClock): Promise<number> {
  const keyward = createKeyward({ store, clock });
  const byFile = new Map(Array.from({ length: CLIENTS }, (_, i) => [keyFileName(`client-${i}`), `client-${i}`]));
  const files = readdirSync(dir).filter((name) => name.endsWith('.key'));
  for (const name of files) {
    const key = readFileSync(join(dir, name), 'utf8').trim();
    const result = await keyward.verify(key);
    expect(result, `the key in ${name} still verifies`).toMatchObject({ valid: true, clientId: byFile.get(name) });
  }
  const keys = await store.listKeys({});
  const rotations = await store.listRotations({});
  const open = rotations.filter((r) => OPEN_ROTATION_STATES.includes(r.state));
  expect(new Set(open.map((r) => r.clientId)).size, 'at most one open rotation per client').toBe(open.length);
  const pending = keys.filter((k) => k.status === 'pending');
  expect(new Set(pending.map((k) => k.clientId)).size, 'at most one pending key per client').toBe(pending.length);
  const openNewKeys = new Set(open.map((r) => r.newKeyId));
  expect(
    pending.filter((k) => !openNewKeys.has(k.id)),
    'every pending key is the new key of an open rotation',
  ).toEqual([]);
  expect(
    rotations.filter((r) => r.state === 'started'),
    'every crashed rotation is decided: the file sink knows what it holds',
  ).toEqual([]);
  const audit = await store.listAudit({});
  expect(verifyAuditRows(audit).ok).toBe(true);
  await keyward.close();
  return files.length;
}

describe.each([
  ['SQLite', sqliteTarget],
  ['PostgreSQL', postgresTarget],
])('SIGKILL during `keyward tick --sink-dir` on %s', (_name, makeTarget) => {
  let target: Target;
  beforeAll(() => {
    requireBuiltCli();
    target = makeTarget();
  });
  afterAll(() => target.close());

  it('a recovery pass keeps every delivered key valid and rolls back only what no file holds', async () => {
    const totals = { killed: 0, confirmed: 0, recovered: 0 };
    for (const files of KILL_AFTER_FILES) {
      const db = await target.fresh();
      const dir = mkdtempSync(join(tmpdir(), 'keyward-crash-sink-'));
      try {
        const kill = await tickAndKill(db.env, dir, files);
        if (kill.killed) totals.killed += 1;
        const store = db.open();
        try {
          const { report, clock } = await recover(store, dir);
          expect(report).toMatchObject({ ok: true, failed: 0, unconfirmed: 0 });
          totals.confirmed += report.confirmed;
          totals.recovered += report.recovered;
          expect(await checkAfterRecovery(store, dir, clock)).toBeGreaterThanOrEqual(kill.files);
        } finally {
          await store.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
        await db.cleanup();
      }
    }
    console.info(`crash-tick: ${JSON.stringify(totals)}`);
    // The kills landed inside passes, both while files were being written (confirmed) and before (rolled back).
    expect(totals.killed).toBeGreaterThanOrEqual(KILL_AFTER_FILES.length - 1);
    expect(totals.confirmed).toBeGreaterThan(0);
    expect(totals.recovered).toBeGreaterThan(0);
  });
});
