import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyward, ErrorCodes, type Keyward, verifyAuditRows } from '@keyward/core';
import { SqliteStore } from '@keyward/sqlite';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Child, requireBuilt } from './child.js';

const PROCESSES = 5;
const CALLS = 10;

/**
 * What a call that lost the race may answer: KEYWARD_ROTATION_IN_PROGRESS (the core
 * turns the store's refusal, or a rotation that committed between its checks, into
 * that) or KEYWARD_CONFLICT. Never "no active key", never a second pending key.
 */
const LOSER_ANSWERS = [ErrorCodes.ROTATION_IN_PROGRESS, ErrorCodes.CONFLICT];

function expectOnlyLosers(outcomes: readonly Outcome[]): void {
  for (const o of outcomes.filter((x) => !x.ok)) expect(LOSER_ANSWERS, o.message).toContain(o.code);
}

interface Outcome {
  ok: boolean;
  rotationId?: string;
  replayed?: boolean;
  newKeyId?: string;
  code?: string;
  message?: string;
}

/** Five processes on one file each call rotate('acme') ten times at once, several rounds. */
describe('concurrent rotate across processes on one SQLite file', () => {
  let dir: string;
  let file: string;
  let admin: Keyward;
  let store: SqliteStore;
  let children: Child[] = [];

  beforeAll(requireBuilt);
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyward-rotate-race-'));
    file = join(dir, 'keys.db');
    store = new SqliteStore({ path: file });
    admin = createKeyward({ store });
    await admin.issue('acme');
    children = Array.from({ length: PROCESSES }, () => new Child('rotator.mjs', [file]));
    await Promise.all(children.map((c) => c.waitFor((m) => m.event === 'ready')));
  });
  afterEach(async () => {
    for (const c of children) await c.kill();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function round(n: number, token?: string): Promise<Outcome[]> {
    const marks = children.map((c) => c.messages.length);
    for (const c of children) c.send(`go ${n} ${CALLS}${token ? ` ${token}` : ''}`);
    const replies = await Promise.all(children.map((c, i) => c.waitFor((m) => m.event === 'results' && m.round === n, 20_000, marks[i])));
    return replies.flatMap((r) => r.results as Outcome[]);
  }

  async function checkOneOpenRotation(rotationId: string) {
    const pending = await store.listKeys({ clientId: 'acme', status: ['pending'] });
    const open = await store.listRotations({ clientId: 'acme', state: ['started', 'delivered'] });
    expect(pending).toHaveLength(1);
    expect(open).toHaveLength(1);
    expect(open[0]?.id).toBe(rotationId);
    expect(open[0]?.newKeyId).toBe(pending[0]?.id);
    const old = await store.findKeyById(open[0]?.oldKeyId as string);
    expect(old).toMatchObject({ status: 'active', graceUntil: open[0]?.graceUntil, rotationId });
    return open[0]!;
  }

  it('without a token: exactly one call starts a rotation, every other one is told a rotation is in progress', async () => {
    for (let n = 1; n <= 3; n++) {
      const outcomes = await round(n);
      expect(outcomes).toHaveLength(PROCESSES * CALLS);
      const wins = outcomes.filter((o) => o.ok);
      expect(wins).toHaveLength(1);
      expectOnlyLosers(outcomes);
      const rotation = await checkOneOpenRotation(wins[0]?.rotationId as string);
      // Finalize so the next round has something to race for.
      await admin.finalize(rotation.id);
    }
    const audit = await store.listAudit({});
    expect(verifyAuditRows(audit)).toMatchObject({ ok: true });
    expect(audit.filter((a) => a.type === 'key.rotated')).toHaveLength(3);
  });

  it('with one idempotency token: every successful call gets the same rotation back', async () => {
    const outcomes = await round(1, 'deploy-42');
    const wins = outcomes.filter((o) => o.ok);
    expect(wins.length).toBeGreaterThanOrEqual(1);
    expect(new Set(wins.map((o) => o.rotationId)).size).toBe(1);
    expect(wins.filter((o) => !o.replayed)).toHaveLength(1);
    expectOnlyLosers(outcomes);
    await checkOneOpenRotation(wins[0]?.rotationId as string);
    // A retry after the race replays it.
    const retry = await round(2, 'deploy-42');
    expect(retry.every((o) => o.ok && o.replayed && o.rotationId === wins[0]?.rotationId)).toBe(true);
    expect(await store.listAudit({})).toHaveLength(2);
  });
});
