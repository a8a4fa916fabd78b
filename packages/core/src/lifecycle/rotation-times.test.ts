import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { MAX_DURATION_MS } from '../duration.js';
import { ErrorCodes } from '../error-codes.js';
import { createKeyward } from '../keyward.js';
import { MemoryStore } from '../memory-store.js';

function setup(options: Parameters<typeof createKeyward>[0] = {}) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const store = new MemoryStore();
  return { clock, store, keyward: createKeyward({ store, clock, ...options }) };
}

async function nothingWritten(store: MemoryStore, keys: number) {
  expect(await store.listKeys({})).toHaveLength(keys);
  expect(await store.listRotations({})).toEqual([]);
  expect((await store.listAudit({})).filter((a) => a.type !== 'key.issued')).toEqual([]);
}

describe('durations and dates are checked before anything is written', () => {
  it('issue and rotate refuse a duration past the documented maximum, writing nothing', async () => {
    const { store, keyward } = setup();
    await expect(keyward.issue('acme', { ttl: '99999999d' })).rejects.toMatchObject({
      code: ErrorCodes.INVALID_DURATION,
      message: expect.stringContaining('option "ttl" must be at most 36500d'),
    });
    await nothingWritten(store, 0);
    await keyward.issue('acme');
    await expect(keyward.rotate('acme', { grace: '99999999d' })).rejects.toMatchObject({ code: ErrorCodes.INVALID_DURATION });
    await expect(keyward.rotate('acme', { grace: MAX_DURATION_MS + 1 })).rejects.toMatchObject({ code: ErrorCodes.INVALID_DURATION });
    await expect(keyward.rotate('acme', { ttl: '99999999d' })).rejects.toMatchObject({ code: ErrorCodes.INVALID_DURATION });
    await nothingWritten(store, 1);
    expect((await store.listKeys({}))[0]).toMatchObject({ status: 'active', graceUntil: null });
  });

  it('refuses a time a Date cannot hold, even within the maximum (a clock far in the future)', async () => {
    const { store, keyward } = setup({ clock: new ManualClock(8.64e15 - 1000) });
    await expect(keyward.issue('acme', { ttl: '1d' })).rejects.toMatchObject({ code: ErrorCodes.INVALID_DURATION });
    await nothingWritten(store, 0);
  });

  it('the maximum itself is accepted and gives a valid date', async () => {
    const { keyward } = setup();
    const issued = await keyward.issue('acme', { ttl: '36500d' });
    expect(new Date(issued.expiresAt as number).toISOString()).toMatch(/^2125-/);
  });
});

describe('a grace longer than the new key lives is refused (it would lock the client out)', () => {
  it('rotate --grace 60d with 30-day keys: refused, nothing written', async () => {
    const { store, keyward } = setup({ keyLifetime: '30d' });
    await keyward.issue('acme');
    await expect(keyward.rotate('acme', { grace: '60d' })).rejects.toMatchObject({
      code: ErrorCodes.INVALID_ARGUMENT,
      message: expect.stringContaining('grace 60d must end before the new key expires (it lives 30d)'),
    });
    await expect(keyward.rotate('acme', { grace: '30d' })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    await expect(keyward.rotate('acme', { grace: '2h', ttl: '1h' })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    await nothingWritten(store, 1);
    const ok = await keyward.rotate('acme', { grace: '29d' });
    expect(ok.graceUntil).toBeLessThan(ok.expiresAt as number);
    expect((await keyward.rotate('globex', { grace: '60d', ttl: null }).catch((e) => e)).code).toBe(ErrorCodes.NOT_FOUND);
  });

  it('a key that never expires takes any grace; the options are checked at construction', async () => {
    const { keyward } = setup({ keyLifetime: null });
    await keyward.issue('acme');
    expect((await keyward.rotate('acme', { grace: '60d' })).expiresAt).toBeNull();
    expect(() => createKeyward({ grace: '60d', keyLifetime: '30d' })).toThrow(/option "grace" must be shorter than keyLifetime \(30d\)/);
  });
});
