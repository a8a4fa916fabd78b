import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import type { KeywardEvents } from '../events.js';
import { createKeyward, type Keyward } from '../keyward.js';
import { MemoryStore } from '../memory-store.js';
import type { KeywardOptions } from '../options.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

const made: Keyward[] = [];
function keywardOn(store: MemoryStore, clock: ManualClock, extra: KeywardOptions = {}): Keyward {
  const keyward = createKeyward({ store, clock, grace: '5m', keyLifetime: '30d', lastUsed: { flushInterval: 0 }, ...extra });
  made.push(keyward);
  return keyward;
}

afterEach(async () => {
  for (const keyward of made.splice(0)) await keyward.close();
});

describe('grace from first use', () => {
  it('keeps the old key until the new key is first used plus the grace, however late that is', async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(1_700_000_000_000);
    const keyward = keywardOn(store, clock);
    const old = await keyward.issue('acme');
    const rotation = await keyward.rotate('acme', { graceFrom: 'first-use' });
    expect(rotation.graceUntil).toBe(clock.now() + 7 * DAY); // the latest end: maxWait
    // Three days later (a fixed 5-minute grace would have ended long ago), the consumer still uses the old key.
    clock.advance(3 * DAY);
    expect(await keyward.verify(old.key)).toMatchObject({ valid: true, sunset: rotation.graceUntil });
    const switchedAt = clock.now();
    expect(await keyward.verify(rotation.key)).toMatchObject({ valid: true, status: 'pending' });
    await keyward.firstUsesRecorded();
    expect(await keyward.verify(old.key)).toMatchObject({ valid: true, sunset: switchedAt + 5 * MIN });
    expect(await keyward.rotationStatus(rotation.rotationId)).toMatchObject({
      status: 'switched',
      firstUsedAt: switchedAt,
      graceUntil: switchedAt + 5 * MIN,
      graceFrom: 'first-use',
    });
    clock.advance(5 * MIN);
    expect(await keyward.verify(old.key)).toMatchObject({ valid: false, reason: 'inactive' });
    expect(await keyward.verify(rotation.key)).toMatchObject({ valid: true });
  });

  it('ends a rotation nobody adopts at maxWait', async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(1_700_000_000_000);
    const keyward = keywardOn(store, clock);
    const old = await keyward.issue('acme');
    const rotation = await keyward.rotate('acme', { graceFrom: 'first-use', maxWait: '2d' });
    expect(await keyward.rotationStatus(rotation.rotationId)).toMatchObject({ status: 'pending', firstUsedAt: null });
    clock.advance(2 * DAY - 1);
    expect(await keyward.verify(old.key)).toMatchObject({ valid: true });
    clock.advance(1);
    expect(await keyward.verify(old.key)).toMatchObject({ valid: false, reason: 'inactive' });
  });

  it('with a fixed grace, records the switch but keeps the deadline', async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(1_700_000_000_000);
    const keyward = keywardOn(store, clock);
    await keyward.issue('acme');
    const rotation = await keyward.rotate('acme', { grace: '1h' });
    clock.advance(10 * MIN);
    await keyward.verify(rotation.key);
    await keyward.firstUsesRecorded();
    expect(await keyward.rotationStatus(rotation.rotationId)).toMatchObject({
      status: 'switched',
      graceFrom: 'rotation',
      graceUntil: rotation.graceUntil,
    });
  });

  it('is heard by another process: its Sunset for the old key moves earlier once the log is read', async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(1_700_000_000_000);
    const a = keywardOn(store, clock);
    const b = keywardOn(store, clock);
    const old = await a.issue('acme');
    const rotation = await a.rotate('acme', { graceFrom: 'first-use' });
    expect(await b.verify(old.key)).toMatchObject({ valid: true, sunset: rotation.graceUntil });
    clock.advance(HOUR);
    await a.verify(rotation.key);
    await a.firstUsesRecorded();
    await b.catchUp();
    expect(await b.verify(old.key)).toMatchObject({ valid: true, sunset: clock.now() + 5 * MIN });
  });

  it('records the first use once under many concurrent first requests in several processes', async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(1_700_000_000_000);
    const apps = [keywardOn(store, clock), keywardOn(store, clock), keywardOn(store, clock)];
    await apps[0]?.issue('acme');
    const rotation = await (apps[0] as Keyward).rotate('acme', { graceFrom: 'first-use' });
    const switched: KeywardEvents['rotation.switched'][] = [];
    for (const app of apps) app.on('rotation.switched', (e) => void switched.push(e));
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (apps[i % 3] as Keyward).verify(rotation.key)));
    expect(results.every((r) => r.valid)).toBe(true);
    for (const app of apps) await app.firstUsesRecorded();
    const rows = (await store.listAudit({})).filter((a) => a.type === 'rotation.switched');
    expect(rows).toHaveLength(1);
    expect(switched).toHaveLength(1);
    expect(rows[0]).toMatchObject({ rotationId: rotation.rotationId, fingerprint: rotation.fingerprint });
    expect(JSON.stringify(rows)).not.toContain(rotation.key);
  });

  it('reports use of the old key after the switch (a replica that did not switch)', async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(1_700_000_000_000);
    const keyward = keywardOn(store, clock);
    const old = await keyward.issue('acme');
    const rotation = await keyward.rotate('acme', { graceFrom: 'first-use' });
    const late: KeywardEvents['key.used_after_switch'][] = [];
    keyward.on('key.used_after_switch', (e) => void late.push(e));
    await keyward.verify(old.key);
    expect(late).toHaveLength(0);
    await keyward.verify(rotation.key);
    await keyward.firstUsesRecorded();
    await keyward.verify(old.key, { ip: '10.0.0.7' });
    expect(late).toEqual([
      expect.objectContaining({ rotationId: rotation.rotationId, fingerprint: old.fingerprint, context: { ip: '10.0.0.7' } }),
    ]);
  });

  it('refuses a bad graceFrom or maxWait before writing anything', async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(1_700_000_000_000);
    const keyward = keywardOn(store, clock);
    await keyward.issue('acme');
    const before = (await store.listAudit({})).length;
    await expect(keyward.rotate('acme', { graceFrom: 'later' as never })).rejects.toThrow(/graceFrom must be "rotation" or "first-use"/);
    await expect(keyward.rotate('acme', { graceFrom: 'first-use', maxWait: '1m' })).rejects.toThrow(
      /maxWait .* must be at least the grace/,
    );
    await expect(keyward.rotate('acme', { graceFrom: 'first-use', maxWait: '40d' })).rejects.toThrow(/must end before the new key expires/);
    expect(await store.listAudit({})).toHaveLength(before);
    expect(() => createKeyward({ maxWait: '1m' })).toThrow(/maxWait/);
    expect(() => createKeyward({ selfServiceGraceFrom: 'x' as never })).toThrow(/selfServiceGraceFrom/);
  });
});

describe('Sunset before expiry', () => {
  it('is sent on an active key once its expiry is within sunsetBeforeExpiry, and not before', async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(1_700_000_000_000);
    const keyward = keywardOn(store, clock, { sunsetBeforeExpiry: '1d', keyLifetime: '10d', maxWait: '2d' });
    const issued = await keyward.issue('acme');
    expect(await keyward.verify(issued.key)).toMatchObject({ valid: true, sunset: null });
    clock.advance(9 * DAY - 1);
    expect(await keyward.verify(issued.key)).toMatchObject({ valid: true, sunset: null });
    clock.advance(1);
    expect(await keyward.verify(issued.key)).toMatchObject({ valid: true, sunset: issued.expiresAt, deprecatedAt: null });
    const off = keywardOn(store, clock);
    expect(await off.verify(issued.key)).toMatchObject({ valid: true, sunset: null });
  });
});
