import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKeyward, ManualClock, type PassReport, verifyWebhookSignature } from '@keyward/core';
import { PostgresStore } from '@keyward/postgres';
import { Redis } from 'ioredis';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropSchema, testUrl } from '../../packages/postgres/src/test-db.js';
import { type Receiver, startReceiver } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const DATABASE_URL = testUrl();
const SECRET = 'whsec_multi_process_secret_01';
const DAY = 86_400_000;
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);
const CLIENTS = 30;
const PROCESSES = 3;

let advisoryModule: string | undefined;
let buildDir: string | undefined;

/**
 * The children import the built packages. `PostgresAdvisoryLock` is not exported from
 * @keyward/postgres's index yet (the lead adds that line), so when the dist lacks it we hand the
 * children a plain-JS transpile of src/advisory-lock.ts and its local imports.
 */
async function advisoryLockModule(): Promise<string> {
  const dist = await readFile(join(root, 'packages/postgres/dist/index.js'), 'utf8').catch(() => '');
  buildDir = join(here, `.advisory-${randomBytes(4).toString('hex')}`);
  await mkdir(buildDir, { recursive: true });
  for (const file of ['advisory-lock', 'errors', 'options', 'pool', 'sql']) {
    const source = await readFile(join(root, 'packages/postgres/src', `${file}.ts`), 'utf8');
    const out = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
    await writeFile(join(buildDir, `${file}.js`), out.outputText);
  }
  if (dist.includes('PostgresAdvisoryLock')) return '@keyward/postgres';
  return join(buildDir, 'advisory-lock.js');
}

interface Child {
  proc: ChildProcess;
  tick(now: number): Promise<PassReport>;
  exit(): Promise<void>;
}

function spawnChild(env: Record<string, string>): Promise<Child> {
  const proc = fork(join(here, 'fixtures/scheduler-child.mjs'), [], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiters: ((m: { type: string; report?: PassReport; message?: string }) => void)[] = [];
  proc.on('message', (m: { type: string }) => waiters.shift()?.(m as never));
  const next = () => new Promise<{ type: string; report?: PassReport; message?: string }>((resolve) => waiters.push(resolve));
  return next().then((ready) => {
    if (ready.type !== 'ready') throw new Error(`child did not start: ${JSON.stringify(ready)}`);
    return {
      proc,
      async tick(now) {
        const reply = next();
        proc.send({ type: 'tick', now });
        const m = await reply;
        if (m.type !== 'report' || !m.report) throw new Error(`child failed: ${m.message}`);
        return m.report;
      },
      exit: () =>
        new Promise<void>((resolve) => {
          proc.once('exit', () => resolve());
          proc.send({ type: 'exit' });
          setTimeout(() => proc.kill(), 10_000).unref();
        }),
    };
  });
}

beforeAll(async () => {
  advisoryModule = await advisoryLockModule();
});
afterAll(async () => {
  if (buildDir) await rm(buildDir, { recursive: true, force: true });
});

describe.each(['redis', 'postgres', 'none'] as const)('three scheduler processes on one PostgreSQL schema (lock: %s)', (lock) => {
  const schema = `kw_engine_${randomBytes(5).toString('hex')}`;
  const namespace = `kw-engine-${randomBytes(5).toString('hex')}`;
  let receiver: Receiver;
  let store: PostgresStore;
  const children: Child[] = [];

  beforeAll(async () => {
    receiver = await startReceiver(() => 200);
    store = new PostgresStore({ connectionString: DATABASE_URL, schema });
    const keyward = createKeyward({ store, clock: new ManualClock(T0) });
    for (let i = 0; i < CLIENTS; i++) await keyward.issue(`client-${i}`);
    const env = {
      DATABASE_URL,
      SCHEMA: schema,
      LOCK: lock,
      REDIS_NAMESPACE: namespace,
      RECEIVER_URL: receiver.url,
      WEBHOOK_SECRET: SECRET,
      ADVISORY_LOCK_MODULE: advisoryModule as string,
    };
    children.push(...(await Promise.all(Array.from({ length: PROCESSES }, () => spawnChild(env)))));
  });

  afterAll(async () => {
    await Promise.all(children.map((c) => c.exit()));
    await store.close();
    await receiver.close();
    await dropSchema(schema);
    const redis = new Redis('redis://127.0.0.1:6379');
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 100);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await redis.quit();
  });

  it('each due rotation happens exactly once: one rotation row and one delivery per client per cycle', async () => {
    const reports: PassReport[] = [];
    const round = async (now: number) => reports.push(...(await Promise.all(children.map((c) => c.tick(now)))));
    // Cycle 1: every key is 6 days from expiry. Three rounds at the same time, all processes at once.
    for (let i = 0; i < 3; i++) await round(T0 + 24 * DAY);
    await round(T0 + 24 * DAY + 49 * HOUR); // grace over: finalize
    // Cycle 2: the new keys (30d from T0+24d) are due 7 days before their expiry.
    for (let i = 0; i < 3; i++) await round(T0 + 47 * DAY + HOUR);
    await round(T0 + 47 * DAY + 50 * HOUR);

    const sum = (field: 'rotated' | 'delivered' | 'finalized' | 'failed') => reports.reduce((n, r) => n + r[field], 0);
    expect(sum('failed')).toBe(0);
    expect(sum('rotated')).toBe(2 * CLIENTS);
    expect(sum('delivered')).toBe(2 * CLIENTS);
    expect(sum('finalized')).toBe(2 * CLIENTS);
    if (lock !== 'none') expect(reports.filter((r) => r.skippedLocked).length).toBeGreaterThan(0);

    const rotations = await store.listRotations({});
    expect(rotations).toHaveLength(2 * CLIENTS);
    expect(rotations.every((r) => r.state === 'completed')).toBe(true);
    const perClient = new Map<string, number>();
    for (const r of rotations) perClient.set(r.clientId, (perClient.get(r.clientId) ?? 0) + 1);
    expect([...perClient.values()].every((n) => n === 2)).toBe(true);
    expect(perClient.size).toBe(CLIENTS);

    // Deliveries counted at the receiver: exactly one POST per rotation, each signed.
    expect(receiver.requests).toHaveLength(2 * CLIENTS);
    const ids = receiver.requests.map((r) => r.headers['idempotency-key']);
    expect(new Set(ids).size).toBe(2 * CLIENTS);
    expect(new Set(ids)).toEqual(new Set(rotations.map((r) => r.id)));
    for (const r of receiver.requests) {
      expect(verifyWebhookSignature({ payload: r.body, header: r.headers['x-keyward-signature'], secret: SECRET })).toBe(true);
    }
    const keys = await store.listKeys({ status: ['active'] });
    expect(keys).toHaveLength(CLIENTS);
    const audit = await store.listAudit({});
    expect(audit.filter((a) => a.type === 'key.rotated')).toHaveLength(2 * CLIENTS);
    expect(audit.filter((a) => a.type === 'rotation.delivered')).toHaveLength(2 * CLIENTS);
    expect(audit.filter((a) => a.type === 'key.finalized')).toHaveLength(2 * CLIENTS);
    const keyward = createKeyward({ store });
    expect((await keyward.verifyAuditChain()).ok).toBe(true);
  });
});
