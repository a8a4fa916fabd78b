import { createKeyward, ErrorCodes, type Keyward, type RotationResult } from '@keyward/core';
import { PostgresStore } from '@keyward/postgres';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminQuery, dropSchema, randomSchema, testPool } from '../../packages/postgres/src/test-db.js';

// Several "processes" (Keyward instances, each with its own pool of several
// connections) rotate the same client at once. The database constraints decide:
// exactly one pending key, exactly one open rotation, every other call gets that
// rotation back or a clear in-progress/conflict error.
const INSTANCES = 5;

const CALLS = 50;

describe('concurrent rotate on PostgreSQL', () => {
  const schema = randomSchema('kwrot');
  const pools: pg.Pool[] = [];
  const instances: Keyward[] = [];

  beforeAll(async () => {
    for (let i = 0; i < INSTANCES; i++) {
      const pool = testPool(4);
      pools.push(pool);
      instances.push(createKeyward({ store: new PostgresStore({ pool, schema }), prefix: 'sk_test' }));
    }
    await (instances[0] as Keyward).store.listKeys({}); // migrate once up front
  });

  afterAll(async () => {
    for (const k of instances) await k.close();
    for (const p of pools) await p.end();
    await dropSchema(schema);
  });

  async function openState(clientId: string) {
    const pending = await adminQuery<{ id: string }>(`SELECT id FROM "${schema}".keys WHERE client_id = $1 AND status = 'pending'`, [
      clientId,
    ]);
    const open = await adminQuery<{ id: string; new_key_id: string }>(
      `SELECT id, new_key_id FROM "${schema}".rotations WHERE client_id = $1 AND state IN ('started', 'delivered')`,
      [clientId],
    );
    return { pending, open };
  }

  async function rotateAll(clientId: string, options: { idempotencyKey?: string } = {}) {
    const results = await Promise.allSettled(
      Array.from({ length: CALLS }, (_, i) => (instances[i % INSTANCES] as Keyward).rotate(clientId, options)),
    );
    const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as { code?: string; message?: string }] : []));
    return { ok, failed };
  }

  it(`${CALLS} concurrent rotations of one client from ${INSTANCES} instances leave one pending key and one open rotation`, async () => {
    await (instances[0] as Keyward).issue('acme');
    const { ok, failed } = await rotateAll('acme');

    const { pending, open } = await openState('acme');
    expect(pending).toHaveLength(1);
    expect(open).toHaveLength(1);
    expect(open[0]?.new_key_id).toBe(pending[0]?.id);

    // The winner got the plaintext; nobody else started a rotation of their own.
    const winners = ok.filter((r: RotationResult) => !r.replayed);
    expect(winners).toHaveLength(1);
    expect(winners[0]?.key).toMatch(/^sk_test_/);
    for (const r of ok) expect(r.rotationId).toBe(open[0]?.id);
    for (const e of failed) expect([ErrorCodes.ROTATION_IN_PROGRESS, ErrorCodes.CONFLICT], e.message).toContain(e.code);
    expect(ok.length + failed.length).toBe(CALLS);
    expect(await (instances[1] as Keyward).verifyAuditChain()).toMatchObject({ ok: true });
  });

  it('with one idempotency token, every concurrent caller gets the same rotation back', async () => {
    await (instances[0] as Keyward).issue('globex');
    const { ok, failed } = await rotateAll('globex', { idempotencyKey: 'deploy-42' });
    const { pending, open } = await openState('globex');
    expect(pending).toHaveLength(1);
    expect(open).toHaveLength(1);
    expect(failed).toEqual([]);
    expect(ok.filter((r) => !r.replayed)).toHaveLength(1);
    expect(new Set(ok.map((r) => r.rotationId))).toEqual(new Set([open[0]?.id]));
  });
});
