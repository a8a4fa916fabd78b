import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { createKeyward, type Keyward, type KeywardOptions } from '../index.js';
import { generateKey } from '../key-format.js';
import { MemoryStore } from '../memory-store.js';

/** A MemoryStore that counts key lookups and hash scans, and can fail its scans. */
class CountingStore extends MemoryStore {
  lookups = 0;
  scans = 0;
  scanFails = false;
  override async findKeyByHash(keyHash: string) {
    this.lookups++;
    return super.findKeyByHash(keyHash);
  }
  override async scanKeyHashes(after: string, limit: number) {
    this.scans++;
    if (this.scanFails) throw new Error('connection refused');
    return super.scanKeyHashes(after, limit);
  }
}

const made: Keyward[] = [];
function keywardOn(store: MemoryStore, clock: ManualClock, extra: KeywardOptions = {}): Keyward {
  const keyward = createKeyward({ store, clock, lastUsed: { flushInterval: 0 }, ...extra });
  made.push(keyward);
  return keyward;
}

afterEach(async () => {
  for (const keyward of made.splice(0)) await keyward.close();
});

const madeUp = (n: number) => Array.from({ length: n }, () => generateKey('sk_live'));

describe('the known-keys filter', () => {
  it('refuses made-up keys as unknown without a lookup once it is built', async () => {
    const store = new CountingStore();
    const clock = new ManualClock(1_700_000_000_000);
    const keyward = keywardOn(store, clock, { knownKeys: { lookupsPerSecond: 0 } });
    const { key } = await keyward.issue('acme');
    await keyward.knownKeysReady();
    store.lookups = 0;
    for (const fake of madeUp(500)) expect(await keyward.verify(fake)).toMatchObject({ valid: false, reason: 'unknown' });
    expect(store.lookups).toBe(0);
    expect(await keyward.verify(key)).toMatchObject({ valid: true, clientId: 'acme' });
    expect(keyward.knownKeysStatus()).toMatchObject({ ready: true, keys: 1, ruledOut: 500 });
  });

  it('takes the old path until it is built, and while the store cannot be scanned', async () => {
    const store = new CountingStore();
    store.scanFails = true;
    const clock = new ManualClock(1_700_000_000_000);
    const keyward = keywardOn(store, clock, { knownKeys: { lookupsPerSecond: 0 } });
    await keyward.verify(madeUp(1)[0]);
    expect(keyward.knownKeysStatus()?.ready).toBe(false);
    store.lookups = 0;
    for (const fake of madeUp(5)) expect(await keyward.verify(fake)).toMatchObject({ reason: 'unknown' });
    expect(store.lookups).toBe(5);
    store.scanFails = false;
    await keyward.knownKeysReady();
    store.lookups = 0;
    for (const fake of madeUp(5)) await keyward.verify(fake);
    expect(store.lookups).toBe(0);
  });

  it('accepts a key issued in this process at once, and one issued elsewhere on the budget', async () => {
    const store = new CountingStore();
    const clock = new ManualClock(1_700_000_000_000);
    const api = keywardOn(store, clock);
    const admin = keywardOn(store, clock, { changes: { interval: false } });
    await api.knownKeysReady();
    const local = await api.issue('here');
    expect(await api.verify(local.key)).toMatchObject({ valid: true });
    // Issued by another process; this one has not read the change log since.
    const remote = await admin.issue('elsewhere');
    expect(await api.verify(remote.key)).toMatchObject({ valid: true, clientId: 'elsewhere' });
    expect(api.knownKeysStatus()?.budget.spent).toBe(1);
  });

  it('with no budget, refuses a key issued elsewhere until the change log brings it', async () => {
    const store = new CountingStore();
    const clock = new ManualClock(1_700_000_000_000);
    const api = keywardOn(store, clock, { knownKeys: { lookupsPerSecond: 0 } });
    const admin = keywardOn(store, clock, { changes: { interval: false } });
    await api.knownKeysReady();
    const remote = await admin.issue('elsewhere');
    expect(await api.verify(remote.key)).toMatchObject({ valid: false, reason: 'unknown' });
    await api.catchUp();
    expect(await api.verify(remote.key)).toMatchObject({ valid: true, clientId: 'elsewhere' });
  });

  it('under a flood, spends at most its budget in lookups, and sheds the rest', async () => {
    const store = new CountingStore();
    const clock = new ManualClock(1_700_000_000_000);
    const api = keywardOn(store, clock, { knownKeys: { lookupsPerSecond: 20 } });
    await api.issue('acme');
    await api.knownKeysReady();
    store.lookups = 0;
    // 10 s of 1,000 made-up keys a second.
    for (let second = 0; second < 10; second++) {
      for (const fake of madeUp(1000)) {
        clock.advance(1);
        await api.verify(fake);
      }
    }
    expect(store.lookups).toBeGreaterThan(0);
    expect(store.lookups).toBeLessThan(70); // 10,000 requests: 20+20+10+5+2+1, then none
    expect(api.knownKeysStatus()?.budget.perSecond).toBe(0);
  });

  it('still finds retired keys (their use is refused as revoked, not unknown) and follows purges', async () => {
    const store = new CountingStore();
    const clock = new ManualClock(1_700_000_000_000);
    const api = keywardOn(store, clock, { knownKeys: { lookupsPerSecond: 0 }, retention: '1d' });
    const admin = keywardOn(store, clock, { changes: { interval: false }, retention: '1d' });
    const issued = await admin.issue('acme');
    await api.knownKeysReady();
    await admin.revoke(issued.id, { reason: 'test', actor: 'test' });
    await api.catchUp();
    expect(await api.verify(issued.key)).toMatchObject({ valid: false, reason: 'revoked' });
    clock.advance(2 * 86_400_000);
    expect((await admin.purge()).purged).toBe(1);
    await api.catchUp();
    expect(await api.verify(issued.key)).toMatchObject({ valid: false, reason: 'unknown' });
  });

  it('stops deciding after a gap in the change log, and decides again once rebuilt', async () => {
    const store = new CountingStore();
    const clock = new ManualClock(1_700_000_000_000);
    const api = keywardOn(store, clock, { knownKeys: { lookupsPerSecond: 0 }, changes: { replayWindow: '1m', retention: '1m' } });
    const admin = keywardOn(store, clock, { changes: { interval: false } });
    await api.knownKeysReady();
    await api.catchUp();
    const remote = await admin.issue('elsewhere');
    // The change is trimmed before this process reads it.
    clock.advance(120_000);
    await store.trimChanges(clock.now());
    await api.catchUp();
    await api.knownKeysReady();
    expect(await api.verify(remote.key)).toMatchObject({ valid: true, clientId: 'elsewhere' });
  });

  it('is off with knownKeys.filter false, and without a followed change log', async () => {
    const store = new CountingStore();
    const clock = new ManualClock(1_700_000_000_000);
    expect(keywardOn(store, clock, { knownKeys: { filter: false } }).knownKeysStatus()).toBeUndefined();
    expect(keywardOn(store, clock, { changes: { interval: false } }).knownKeysStatus()).toBeUndefined();
  });

  it('names the option and the value it refuses', () => {
    expect(() => createKeyward({ knownKeys: { lookupsPerSecond: -1 } })).toThrow(/knownKeys\.lookupsPerSecond.*-1/);
    expect(() => createKeyward({ knownKeys: { bitsPerKey: 4 } })).toThrow(/knownKeys\.bitsPerKey.*4/);
    expect(() => createKeyward({ knownKeys: { filter: 'yes' as unknown as boolean } })).toThrow(/knownKeys\.filter/);
  });
});
