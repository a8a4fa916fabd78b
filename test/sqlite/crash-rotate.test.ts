import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KeyRecord, OPEN_ROTATION_STATES, type RotationRecord, verifyAuditRows } from '@keyward/core';
import { SqliteStore } from '@keyward/sqlite';
import Database from 'better-sqlite3';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Child, requireBuilt } from './child.js';

const CLIENTS = 12;
const ROUNDS = 3;
const CHURNERS = 2;

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

/** Opens the file fresh (as a restarted process would) and checks every lifecycle invariant. */
async function checkInvariants(file: string): Promise<{ keys: number; rotations: number; audit: number }> {
  const raw = new Database(file, { readonly: true });
  try {
    expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
  } finally {
    raw.close();
  }
  const store = new SqliteStore({ path: file });
  try {
    const keys = await store.listKeys({});
    const rotations = await store.listRotations({});
    const byId = new Map(keys.map((k) => [k.id, k]));
    const open = rotations.filter((r) => OPEN_ROTATION_STATES.includes(r.state));
    const openById = new Map<string, RotationRecord>(open.map((r) => [r.id, r]));

    for (const [clientId, clientKeys] of groupBy(keys, (k) => k.clientId)) {
      expect(clientKeys.filter((k) => k.status === 'pending').length, `pending keys of ${clientId}`).toBeLessThanOrEqual(1);
    }
    for (const [clientId, clientOpen] of groupBy(open, (r) => r.clientId))
      expect(clientOpen, `open rotations of ${clientId}`).toHaveLength(1);

    for (const key of keys.filter((k) => k.status === 'pending')) {
      const rotation = openById.get(key.rotationId ?? '');
      expect(rotation, `pending key ${key.fingerprint} has an open rotation`).toBeDefined();
      expect(rotation?.newKeyId).toBe(key.id);
    }
    for (const rotation of open) {
      expect(byId.get(rotation.newKeyId)?.status, `new key of open rotation ${rotation.id}`).toBe('pending');
      const old = byId.get(rotation.oldKeyId) as KeyRecord;
      expect(old, `old key of open rotation ${rotation.id}`).toMatchObject({
        status: 'active',
        graceUntil: rotation.graceUntil,
        rotationId: rotation.id,
      });
    }
    for (const key of keys.filter((k) => k.status === 'active' && k.graceUntil !== null)) {
      expect(openById.get(key.rotationId ?? '')?.oldKeyId, `active key ${key.fingerprint} in grace belongs to an open rotation`).toBe(
        key.id,
      );
    }
    for (const rotation of rotations.filter((r) => r.state === 'completed')) {
      expect(byId.get(rotation.newKeyId)?.status, `new key of completed rotation ${rotation.id}`).not.toBe('pending');
    }
    const audit = await store.listAudit({});
    expect(verifyAuditRows(audit)).toEqual({ ok: true, count: audit.length, lastHash: audit.at(-1)?.hash });
    return { keys: keys.length, rotations: rotations.length, audit: audit.length };
  } finally {
    await store.close();
  }
}

/**
 * Churn processes run issue / rotate / finalize / abort / revoke on many clients of
 * one file and are SIGKILLed mid-run, three times over; after each kill the file,
 * opened fresh, must still satisfy every lifecycle invariant.
 */
describe('SIGKILL during rotation churn on SQLite', () => {
  let dir: string;
  let file: string;
  let children: Child[] = [];

  beforeAll(requireBuilt);
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'keyward-crash-'));
    file = join(dir, 'keys.db');
  });
  afterEach(async () => {
    for (const c of children) await c.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('leaves no half-done rotation, no second pending key and an intact audit chain', async () => {
    let last = { keys: 0, rotations: 0, audit: 0 };
    for (let round = 1; round <= ROUNDS; round++) {
      children = Array.from({ length: CHURNERS }, (_, i) => new Child('churn.mjs', [file, String(CLIENTS), `r${round}c${i}`]));
      // Mid-run: each has done real work (at least 100 operations or races) and is still going.
      await Promise.all(
        children.map((c) => c.waitFor((m) => m.event === 'progress' && (m.ops as number) + (m.races as number) >= 100, 30_000)),
      );
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 150)));
      for (const c of children) expect(c.exited, `churn process ${c.proc.pid} still running before the kill`).toBeUndefined();
      await Promise.all(children.map((c) => c.kill('SIGKILL')));
      for (const c of children) {
        expect(c.exited?.signal).toBe('SIGKILL');
        expect(c.messages.filter((m) => m.event === 'fatal')).toEqual([]);
      }
      const now = await checkInvariants(file);
      expect(now.audit).toBeGreaterThan(last.audit);
      last = now;
    }
    console.info(`after ${ROUNDS} kills: ${last.keys} keys, ${last.rotations} rotations, ${last.audit} audit rows, all invariants held`);
    expect(last.rotations).toBeGreaterThan(10);
  });
});
