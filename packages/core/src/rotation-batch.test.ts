import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { createKeyward } from './keyward.js';
import { MemoryStore } from './memory-store.js';
import type { KeyRecord } from './types.js';

const HOUR = 3_600_000;

async function fleet(n: number) {
  const clock = new ManualClock();
  const store = new MemoryStore();
  const keyward = createKeyward({ store, clock, grace: '1h' });
  const issued = [];
  for (let i = 0; i < n; i++) issued.push(await keyward.issue(`client-${i}`));
  const keys = (await Promise.all(issued.map((k) => store.findKeyById(k.id)))) as KeyRecord[];
  return { clock, store, keyward, issued, keys };
}

describe('batch rotation (scheduler path)', () => {
  it('starts, delivers and finalizes many clients in one transaction each, with the same audit trail as one by one', async () => {
    const { clock, store, keyward, issued, keys } = await fleet(5);
    const started = await keyward.startRotations(
      keys.map((key) => ({ key, idempotencyKey: `t:${key.id}` })),
      { actor: 'scheduler' },
    );
    expect(started).toHaveLength(5);
    for (const [i, r] of (started ?? []).entries()) {
      expect(r).toMatchObject({ state: 'started', clientId: `client-${i}`, oldKeyId: issued[i]?.id });
      expect(await keyward.verify(issued[i]?.key)).toMatchObject({ valid: true, sunset: clock.now() + HOUR });
    }
    // Marked before the new keys are used: a first use rewrites its rotation (version + 1), and
    // the batch mark of just-started rotations (version 1) then falls back to one by one.
    expect(await keyward.markDeliveredMany(started ?? [], { sink: 'file', actor: 'scheduler' })).toBe(true);
    for (const r of started ?? []) expect(await keyward.verify(r.key)).toMatchObject({ valid: true, status: 'pending' });
    await keyward.firstUsesRecorded();
    clock.advance(HOUR);
    const rotations = await store.listRotations({ state: ['delivered'] });
    const items = await Promise.all(
      rotations.map(async (rotation) => ({
        rotation,
        oldKey: await store.findKeyById(rotation.oldKeyId),
        newKey: (await store.findKeyById(rotation.newKeyId)) as KeyRecord,
      })),
    );
    expect(await keyward.finalizeMany(items, { actor: 'scheduler' })).toBe(true);
    for (const [i, r] of (started ?? []).entries()) {
      expect(await keyward.verify(r.key)).toMatchObject({ valid: true, status: 'active' });
      expect(await keyward.verify(issued[i]?.key)).toMatchObject({ valid: false, reason: 'inactive' });
    }
    const types = (await store.listAudit({ clientId: 'client-3' })).map((a) => a.type);
    expect(types).toEqual(['key.issued', 'key.rotated', 'rotation.delivered', 'rotation.switched', 'key.finalized']);
    expect(await keyward.verifyAuditChain()).toMatchObject({ ok: true, count: 25 });
  });

  it('writes nothing and answers undefined when one client lost a race', async () => {
    const { store, keyward, keys } = await fleet(3);
    await keyward.rotate('client-1'); // an operator got there first
    const before = (await store.listAudit({})).length;
    expect(await keyward.startRotations(keys.map((key) => ({ key, idempotencyKey: `t:${key.id}` })))).toBeUndefined();
    expect(await store.listRotations({})).toHaveLength(1);
    expect(await store.listKeys({ status: ['pending'] })).toHaveLength(1);
    expect(await store.listAudit({})).toHaveLength(before);
    expect(await keyward.finalizeMany([])).toBe(true);
    expect(await keyward.startRotations([])).toEqual([]);
  });

  it('refuses to mark or finalize rotations that moved on', async () => {
    const { keyward, keys, store } = await fleet(2);
    const started = (await keyward.startRotations(keys.map((key) => ({ key, idempotencyKey: `t:${key.id}` })))) ?? [];
    await keyward.abort(started[0]?.rotationId as string, { reason: 'operator' });
    expect(await keyward.markDeliveredMany(started)).toBe(false);
    expect((await store.findRotation(started[1]?.rotationId as string))?.state).toBe('started');
  });
});
