import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { createKeyward } from '../keyward.js';
import { MemoryStore } from '../memory-store.js';

const HOUR = 3_600_000;

describe('listKeys shows the effective status, as the verifier decides it', () => {
  it('after a grace ends, before any finalize: old key inactive, new key active; stored statuses unchanged', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const store = new MemoryStore();
    const keyward = createKeyward({ store, clock, keyLifetime: '30d' });
    const old = await keyward.issue('acme');
    clock.advance(1000); // listed oldest first
    const rotation = await keyward.rotate('acme', { grace: '2h' });
    const during = await keyward.listKeys('acme');
    expect(during.map((k) => [k.fingerprint, k.status, k.storedStatus])).toEqual([
      [old.fingerprint, 'active', 'active'],
      [rotation.fingerprint, 'pending', 'pending'],
    ]);

    clock.advance(2 * HOUR);
    const after = await keyward.listKeys('acme');
    expect(after.map((k) => [k.fingerprint, k.status, k.storedStatus])).toEqual([
      [old.fingerprint, 'inactive', 'active'],
      [rotation.fingerprint, 'active', 'pending'],
    ]);
    expect((await keyward.verify(old.key)).valid).toBe(false);
    expect((await keyward.verify(rotation.key as string)).valid).toBe(true);

    clock.advance(31 * 24 * HOUR);
    expect((await keyward.listKeys()).map((k) => k.status)).toEqual(['expired', 'expired']);
    expect((await keyward.verify(rotation.key as string)).valid).toBe(false);
  });
});
