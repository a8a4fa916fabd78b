// The server-side rule behind @keyward/client's recovery from a lost rotation
// answer: the old key may ask again for a successor it never used. The unused
// pending key is revoked and a fresh one issued in one audited commit, on every
// store, never with two pending keys.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyward, ErrorCodes, type KeyStore, type Keyward, MemoryStore } from '@keyward/core';
import { PostgresStore } from '@keyward/postgres';
import { SqliteStore } from '@keyward/sqlite';
import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { dropSchema, randomSchema, testPool } from '../../packages/postgres/src/test-db.js';

const dir = mkdtempSync(join(tmpdir(), 'keyward-reissue-'));
const schema = randomSchema('kwreissue');
let pool: pg.Pool | undefined;
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await pool?.end();
  await dropSchema(schema);
});

const STORES: { name: string; make: () => KeyStore }[] = [
  { name: 'memory', make: () => new MemoryStore() },
  { name: 'sqlite', make: () => new SqliteStore({ path: join(dir, 'k.db') }) },
  {
    name: 'postgres',
    make: () => {
      pool = testPool(4);
      return new PostgresStore({ pool, schema });
    },
  },
];

describe.each(STORES)('reissueUnusedSuccessor on $name', ({ make }) => {
  let keyward: Keyward;
  let n = 0;
  const self = (fp: string) => `self-service:${fp}`;

  it('setup', async () => {
    keyward = createKeyward({ store: make(), prefix: 'sk_test' });
  });
  afterAll(() => keyward.close());

  async function lostRotation() {
    const issued = await keyward.issue(`reissue-${++n}`);
    const first = await keyward.rotate(issued.clientId, { keyId: issued.id, idempotencyKey: 'a', actor: self(issued.fingerprint) });
    return { issued, first };
  }

  it('revokes the unused pending key and issues a fresh one in one commit; the old key keeps working; one pending key', async () => {
    const { issued, first } = await lostRotation();
    const replayed = await keyward.rotate(issued.clientId, { keyId: issued.id, idempotencyKey: 'a', actor: self(issued.fingerprint) });
    expect(replayed.key).toBeUndefined();
    const again = await keyward.reissueUnusedSuccessor(issued.clientId, {
      keyId: issued.id,
      idempotencyKey: 'b',
      actor: self(issued.fingerprint),
    });
    expect(again.key).toMatch(/^sk_test_/);
    expect(again.rotationId).not.toBe(first.rotationId);
    expect(again.graceUntil).toBeLessThanOrEqual(first.graceUntil); // the old key gains no time
    expect((await keyward.verify(first.key)).valid).toBe(false);
    expect((await keyward.verify(again.key)).valid).toBe(true);
    expect((await keyward.verify(issued.key)).valid).toBe(true);
    const keys = await keyward.store.listKeys({ clientId: issued.clientId });
    expect(keys.filter((k) => k.status === 'pending' || (k.status === 'active' && k.id === again.newKeyId))).toHaveLength(1);
    expect(keys.find((k) => k.id === first.newKeyId)?.status).toBe('revoked');
    const rotations = await keyward.listRotations(issued.clientId);
    expect(rotations.map((r) => r.state).sort()).toEqual(['aborted', 'delivered']);
    const audit = await keyward.store.listAudit({ clientId: issued.clientId });
    expect(audit.map((a) => a.type)).toEqual(expect.arrayContaining(['rotation.aborted', 'key.rotated']));
    expect(JSON.stringify(audit)).not.toContain(again.key);
    expect((await keyward.verifyAuditChain()).ok).toBe(true);
    // Same idempotency key again: the reissue is replayed, not repeated.
    const replay = await keyward.reissueUnusedSuccessor(issued.clientId, {
      keyId: issued.id,
      idempotencyKey: 'b',
      actor: self(issued.fingerprint),
    });
    expect(replay).toMatchObject({ replayed: true, rotationId: again.rotationId, key: undefined });
  });

  it('refuses when the successor was used, or was not asked for by this key', async () => {
    const { issued, first } = await lostRotation();
    await keyward.verify(first.key);
    await keyward.firstUsesRecorded();
    await expect(
      keyward.reissueUnusedSuccessor(issued.clientId, { keyId: issued.id, idempotencyKey: 'c', actor: self(issued.fingerprint) }),
    ).rejects.toMatchObject({
      code: ErrorCodes.ROTATION_IN_PROGRESS,
    });
    const other = await keyward.issue(`reissue-${++n}`);
    await keyward.rotate(other.clientId, { actor: 'operator' });
    await expect(
      keyward.reissueUnusedSuccessor(other.clientId, { keyId: other.id, idempotencyKey: 'd', actor: self(other.fingerprint) }),
    ).rejects.toMatchObject({
      code: ErrorCodes.ROTATION_IN_PROGRESS,
    });
  });

  it('concurrent reissues: never two pending keys, losers get a clear in-progress error', async () => {
    const { issued } = await lostRotation();
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        keyward.reissueUnusedSuccessor(issued.clientId, { keyId: issued.id, idempotencyKey: `r${i}`, actor: self(issued.fingerprint) }),
      ),
    );
    const fresh = results.filter((r) => r.status === 'fulfilled' && r.value.key !== undefined);
    expect(fresh.length).toBeGreaterThanOrEqual(1);
    const keys = await keyward.store.listKeys({ clientId: issued.clientId, status: ['pending'] });
    expect(keys).toHaveLength(1);
    for (const r of results)
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: expect.stringMatching(/ROTATION_IN_PROGRESS|CONFLICT/) });
  });
});
