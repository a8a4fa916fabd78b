// @keyward/client killed with SIGKILL at each point of its rotation, against the
// Express, Koa and Nest example APIs (SQLite): the restarted process recovers without an operator.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '@keyward/sqlite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Proc, requireBuiltPackages, run, startExample } from './processes.js';

const dir = mkdtempSync(join(tmpdir(), 'keyward-client-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  requireBuiltPackages();
});

let api: Proc | undefined;
afterEach(async () => {
  if (api && api.child.exitCode === null) api.child.kill('SIGTERM');
  await api?.exited;
});

async function startApi(name: string, example = 'express'): Promise<{ baseUrl: string; key: string; db: string }> {
  const started = await startExample(dir, name, example);
  api = started.api;
  return { baseUrl: started.baseUrl, key: started.key, db: started.db };
}

const lines = (p: Proc) =>
  p
    .out()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

async function rotationsOf(db: string) {
  const store = new SqliteStore({ path: db });
  try {
    return await store.listRotations({ clientId: 'demo' });
  } finally {
    await store.close();
  }
}

const measured: Record<string, unknown>[] = [];
afterAll(() => console.log(`crash recovery (machine shared with other agents):\n${measured.map((m) => JSON.stringify(m)).join('\n')}`));

describe.each(['express', 'koa', 'nest'])('SIGKILL at each point of a rotation (%s example)', (example) => {
  it.each([
    ['before-call', false],
    ['after-answer', true],
    ['mid-write', true],
    ['after-rename', true],
  ])('%s: the restarted client recovers without an operator', async (point, switches) => {
    const { baseUrl, key, db } = await startApi(`${example}-${point}`, example);
    const keyFile = join(dir, `${example}-${point}.key`);
    writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
    const env = { BASE_URL: baseUrl, KEY_FILE: keyFile };
    const crashed = run(['test/client/fixtures/crashing-consumer.mjs'], { ...env, CRASH_AT: point });
    await crashed.exited;
    expect(crashed.child.signalCode, crashed.out()).toBe('SIGKILL');
    const original = lines(crashed).find((e) => e.event === 'started')?.fp;
    await new Promise((r) => setTimeout(r, 700)); // past the fixture's staleLockMs (500): lock and temp file are stale
    const restartedAt = Date.now();
    const restarted = run(['test/client/fixtures/crashing-consumer.mjs'], { ...env, DURATION_MS: '2500' });
    expect(await restarted.exited, restarted.out()).toBe(0);
    const out = lines(restarted);
    const summary = out.find((e) => e.event === 'summary') as Record<string, unknown>;
    expect(summary.failed, restarted.out()).toBe(0);
    if (switches) expect(summary.final).not.toBe(original);
    else expect(summary.final).toBe(original);
    const rotations = await rotationsOf(db);
    expect(rotations.filter((r) => r.state === 'started' || r.state === 'delivered').length).toBeLessThanOrEqual(1);
    expect(readdirSync(dir).filter((f) => f.startsWith(`.${example}-${point}.key.`))).toEqual([]); // no plaintext temp file left
    expect(restarted.out()).not.toContain(key);
    const rotated = out.find((e) => e.event === 'rotated');
    measured.push({
      example,
      point,
      firstOkMs: summary.firstOkMs,
      onNewKeyMs: rotated === undefined ? (switches ? 0 : null) : (rotated.at as number) - restartedAt,
      serverRotations: rotations.map((r) => r.state).join(','),
    });
  });
});
