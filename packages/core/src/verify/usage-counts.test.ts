import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { HOUR_MS } from '../console/console-queries.js';
import { Keyward } from '../keyward.js';
import { silentLogger } from '../logger.js';
import { MemoryStore } from '../memory-store.js';
import { UsageCounts } from './usage-counts.js';

const T0 = Date.UTC(2026, 5, 1, 10, 0, 0);

describe('UsageCounts', () => {
  it('counts per key and hour, valid and in grace, and writes one bucket per key and hour', async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(T0);
    const counts = new UsageCounts(store, silentLogger, 0, { ms: 90 * 24 * HOUR_MS, clock });
    let a = counts.count(undefined, 'a', T0, false);
    a = counts.count(a, 'a', T0 + 1, false);
    a = counts.count(a, 'a', T0 + 2, true);
    // A second counter for the same key (an evicted entry loaded again) merges into the bucket.
    counts.count(undefined, 'a', T0 + 3, false);
    a = counts.count(a, 'a', T0 + HOUR_MS, false);
    counts.count(undefined, 'b', T0, true);
    await counts.flush();
    expect(await store.listUsage({ keyIds: ['a', 'b'], since: 0 })).toEqual([
      { keyId: 'a', hour: T0, valid: 3, grace: 1 },
      { keyId: 'a', hour: T0 + HOUR_MS, valid: 1, grace: 0 },
      { keyId: 'b', hour: T0, valid: 0, grace: 1 },
    ]);
    // After a flush the old counter is spent: counting on it starts a new one, nothing is written twice.
    counts.count(a, 'a', T0 + HOUR_MS + 5, false);
    await counts.flush();
    await counts.flush();
    expect(await store.listUsage({ keyIds: ['a'], since: T0 + HOUR_MS })).toEqual([{ keyId: 'a', hour: T0 + HOUR_MS, valid: 2, grace: 0 }]);
  });

  it('keeps the counts of a failed write for the next flush', async () => {
    const store = new MemoryStore();
    let fail = true;
    const flaky = {
      addUsage: (b: Parameters<MemoryStore['addUsage']>[0]) => (fail ? Promise.reject(new Error('down')) : store.addUsage(b)),
      trimUsage: (before: number) => store.trimUsage(before),
    };
    const counts = new UsageCounts(flaky, silentLogger, 0, { ms: 90 * 24 * HOUR_MS, clock: new ManualClock(T0) });
    counts.count(undefined, 'a', T0, false);
    await counts.flush();
    fail = false;
    counts.count(undefined, 'a', T0, false);
    await counts.flush();
    expect(await store.listUsage({ keyIds: ['a'], since: 0 })).toEqual([{ keyId: 'a', hour: T0, valid: 2, grace: 0 }]);
  });

  it('trims buckets older than the retention', async () => {
    const store = new MemoryStore();
    await store.addUsage([{ keyId: 'old', hour: T0 - 100 * 24 * HOUR_MS, valid: 1, grace: 0 }]);
    const counts = new UsageCounts(store, silentLogger, 0, { ms: 90 * 24 * HOUR_MS, clock: new ManualClock(T0) });
    counts.count(undefined, 'a', T0, false);
    await counts.flush();
    expect(await store.listUsage({ keyIds: ['old', 'a'], since: 0 })).toEqual([{ keyId: 'a', hour: T0, valid: 1, grace: 0 }]);
  });
});

describe('Keyward usage counts', () => {
  it('counts accepted requests of the old key as in grace and of the new key as valid; refusals are not counted', async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(T0);
    const keyward = new Keyward({ store, clock, logger: silentLogger });
    const issued = await keyward.issue('acme');
    for (let i = 0; i < 3; i++) expect((await keyward.verify(issued.key)).valid).toBe(true);
    const rotation = await keyward.rotate('acme', { grace: '1h' });
    await keyward.verify(issued.key);
    await keyward.verify(rotation.key as string);
    await keyward.verify(`${(rotation.key as string).slice(0, -2)}xx`);
    await keyward.flushUsage();
    const buckets = await store.listUsage({ keyIds: [issued.id, rotation.newKeyId], since: 0 });
    expect(buckets).toEqual(
      expect.arrayContaining([
        { keyId: issued.id, hour: T0, valid: 3, grace: 1 },
        { keyId: rotation.newKeyId, hour: T0, valid: 1, grace: 0 },
      ]),
    );
    expect(buckets).toHaveLength(2);
    await keyward.close();
  });

  it('counts nothing with usageCounts: false, and rejects a bad retention naming the option', async () => {
    const store = new MemoryStore();
    const keyward = new Keyward({ store, clock: new ManualClock(T0), logger: silentLogger, usageCounts: false });
    const issued = await keyward.issue('acme');
    await keyward.verify(issued.key);
    await keyward.flushUsage();
    expect(await store.listUsage({ keyIds: [issued.id], since: 0 })).toEqual([]);
    await keyward.close();
    expect(() => new Keyward({ store, usageCounts: { retention: '5m' } })).toThrow(/usageCounts\.retention/);
    expect(() => new Keyward({ store, usageCounts: 'yes' as never })).toThrow(/usageCounts/);
  });
});
