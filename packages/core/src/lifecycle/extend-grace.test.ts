import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { ErrorCodes } from '../error-codes.js';
import { Keyward } from '../keyward.js';
import { silentLogger } from '../logger.js';
import { MemoryStore } from '../memory-store.js';

const T0 = Date.UTC(2026, 5, 1);
const HOUR = 3_600_000;

describe('extendGrace', () => {
  it('moves the rotation and the old key later, audited, and the old key is accepted until then', async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(T0);
    const keyward = new Keyward({ store, clock, logger: silentLogger });
    const issued = await keyward.issue('acme');
    const rotation = await keyward.rotate('acme', { grace: '2h' });
    const { graceUntil } = await keyward.extendGrace(rotation.rotationId, { by: '3h', actor: 'admin:ops', reason: 'client on holiday' });
    expect(graceUntil).toBe(T0 + 5 * HOUR);
    expect(await store.findRotation(rotation.rotationId)).toMatchObject({ graceUntil: T0 + 5 * HOUR, version: 2 });
    expect(await store.findKeyById(issued.id)).toMatchObject({ graceUntil: T0 + 5 * HOUR });
    const audit = (await store.listAudit({})).filter((r) => r.type === 'rotation.extended');
    expect(audit).toEqual([
      expect.objectContaining({
        actor: 'admin:ops',
        reason: 'client on holiday',
        keyId: issued.id,
        data: { from: T0 + 2 * HOUR, to: T0 + 5 * HOUR },
      }),
    ]);
    clock.set(T0 + 4 * HOUR);
    expect((await keyward.verify(issued.key)).valid).toBe(true);
    await keyward.close();
  });

  it('refuses a bad duration, an ended grace and a closed rotation, writing nothing', async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(T0);
    const keyward = new Keyward({ store, clock, logger: silentLogger });
    await keyward.issue('acme');
    const rotation = await keyward.rotate('acme', { grace: '1h' });
    const before = (await store.listAudit({})).length;
    await expect(keyward.extendGrace(rotation.rotationId, { by: 'soon' })).rejects.toMatchObject({ code: ErrorCodes.INVALID_DURATION });
    await expect(keyward.extendGrace(rotation.rotationId, { by: '365d' })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    clock.set(T0 + 2 * HOUR);
    await expect(keyward.extendGrace(rotation.rotationId, { by: '1h' })).rejects.toMatchObject({ code: ErrorCodes.ILLEGAL_TRANSITION });
    await keyward.finalize(rotation.rotationId);
    await expect(keyward.extendGrace(rotation.rotationId, { by: '1h' })).rejects.toMatchObject({ code: ErrorCodes.ILLEGAL_TRANSITION });
    await expect(keyward.extendGrace('nope', { by: '1h' })).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
    expect((await store.listAudit({})).filter((r) => r.type === 'rotation.extended')).toHaveLength(0);
    expect((await store.listAudit({})).length).toBeGreaterThan(before);
    await keyward.close();
  });
});
