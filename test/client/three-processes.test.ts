// @keyward/client across real processes: the Express, Koa and Nest example APIs
// (each its own SQLite database) and three consumer processes sharing one key file
// with steady traffic. The client knows no framework, only HTTP.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '@keyward/sqlite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, cli, requireBuiltCli } from '../cli/run-cli.js';
import { type Proc, requireBuiltPackages, run, startExample } from './processes.js';

const dir = mkdtempSync(join(tmpdir(), 'keyward-client-procs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  requireBuiltCli();
  requireBuiltPackages();
});

let api: Proc | undefined;
afterEach(async () => {
  if (api && api.child.exitCode === null) api.child.kill('SIGTERM');
  await api?.exited;
});

async function startApi(example: string, name: string): Promise<{ baseUrl: string; key: string; db: string }> {
  const started = await startExample(dir, name, example);
  api = started.api;
  return { baseUrl: started.baseUrl, key: started.key, db: started.db };
}

interface Line {
  event: string;
  pid: number;
  at: number;
  [k: string]: unknown;
}
const lines = (p: Proc): Line[] =>
  p
    .out()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);

function consumers(baseUrl: string, keyFile: string, rotateAfter: (i: number) => string | undefined, store = 'file', untilSwitch = false) {
  return [0, 1, 2].map((i) => {
    const env: Record<string, string> = { BASE_URL: baseUrl, KEY_FILE: keyFile, DURATION_MS: '4000', STORE: store };
    if (untilSwitch) env.UNTIL_SWITCH = '1';
    const after = rotateAfter(i);
    if (after !== undefined) env.ROTATE_AFTER_MS = after;
    return run(['test/client/fixtures/consumer.mjs'], env);
  });
}

async function finished(procs: Proc[]) {
  const codes = await Promise.all(procs.map((p) => p.exited));
  expect(codes, procs.map((p) => p.out()).join('\n')).toEqual([0, 0, 0]);
  return procs.map(lines);
}

async function rotationsOf(db: string) {
  const store = new SqliteStore({ path: db });
  try {
    return await store.listRotations({ clientId: 'demo' });
  } finally {
    await store.close();
  }
}

describe.each(['express', 'koa', 'nest'])('three consumer processes share one key file (%s example)', (example) => {
  it.each([
    ['one process calls rotate()', (i: number) => (i === 0 ? '1000' : undefined)],
    ['all three call rotate() at once', () => '1000'],
  ])('%s: zero failed requests, exactly one rotation, every process on the new key', async (name, rotateAfter) => {
    const { baseUrl, key, db } = await startApi(example, `${example}-${name.replace(/\W+/g, '-')}`);
    const keyFile = join(dir, `${example}-${name.replace(/\W+/g, '-')}.key`);
    writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
    const out = await finished(consumers(baseUrl, keyFile, rotateAfter));
    await expectOneSwitch(out, db, key);
  });

  it.each([
    ['the operator rotates (keyward rotate) and puts the new key in the shared file', 'file'],
    ['the scheduler rotates and delivers with a FileSink (FileSinkStore)', 'sink'],
  ])('%s: zero failed requests, exactly one rotation, every process on the new key', async (_name, store) => {
    const { baseUrl, key, db } = await startApi(example, `${example}-${store}`);
    const sinkDir = join(dir, `${example}-sink`);
    const keyFile = store === 'sink' ? join(sinkDir, 'demo.key') : join(dir, `${example}-operator.key`);
    mkdirSync(sinkDir, { recursive: true, mode: 0o700 });
    writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
    // The consumers run until they see the new key (a CLI started on a loaded machine may take seconds).
    const procs = consumers(baseUrl, keyFile, () => undefined, store, true);
    await new Promise((r) => setTimeout(r, 1000));
    const env = cleanEnv({ KEYWARD_DATABASE_URL: db });
    if (store === 'sink') {
      const tick = await cli(['tick', '--sink-dir', sinkDir, '--rotate-before', '60d'], env);
      expect(tick.code, tick.stderr).toBe(0);
    } else {
      const rotated = await cli(['rotate', 'demo', '--grace', '1h'], env);
      expect(rotated.code, rotated.stderr).toBe(0);
      await new Promise((r) => setTimeout(r, 300)); // the processes see Sunset; their self-service call is refused (409)
      writeFileSync(keyFile, `${rotated.stdout.trim()}\n`, { mode: 0o600 });
    }
    await expectOneSwitch(await finished(procs), db, key);
  });
});

async function expectOneSwitch(out: Line[][], db: string, key: string) {
  const summaries = out.map((l) => l.find((e) => e.event === 'summary') as Line);
  expect(summaries.map((s) => s.failed)).toEqual([0, 0, 0]);
  expect(summaries.every((s) => (s.ok as number) > 20)).toBe(true);
  const rotations = await rotationsOf(db);
  expect(rotations).toHaveLength(1);
  const finals = new Set(summaries.map((s) => s.final));
  expect(finals.size).toBe(1);
  const started = out.map((l) => l.find((e) => e.event === 'started')?.fp);
  expect(finals.has(started[0])).toBe(false);
  // Every process switched well inside the grace: within 2 s of the rotation.
  const rotatedAt = Math.min(
    ...out
      .flat()
      .filter((e) => e.event === 'rotated')
      .map((e) => e.at),
  );
  for (const l of out) {
    const own = l.find((e) => e.event === 'rotated');
    expect(own, JSON.stringify(l.slice(0, 5))).toBeDefined();
    expect((own as Line).at - rotatedAt).toBeLessThan(2000);
  }
  expect(out.flat().some((e) => JSON.stringify(e).includes(key))).toBe(false);
}
