import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import type { SharedKeyCache } from '../key-cache.js';
import { hashKey } from '../key-hash.js';
import { createKeyward, type Keyward } from '../keyward.js';
import { MemoryStore } from '../memory-store.js';
import { type LiveKey, toLiveKey } from '../types.js';

/** A MemoryStore that counts lookups and log reads and can be switched off. */
class CountingStore extends MemoryStore {
  lookups = 0;
  reads = 0;
  down = false;
  override async findKeyByHash(keyHash: string) {
    this.lookups++;
    if (this.down) throw new Error('connection refused');
    return super.findKeyByHash(keyHash);
  }
  override async readChanges(query: Parameters<MemoryStore['readChanges']>[0]) {
    this.reads++;
    if (this.down) throw new Error('connection refused');
    return super.readChanges(query);
  }
}

/** An in-process shared cache with Redis's version rule (a fill never replaces a newer entry). */
class VersionedCache implements SharedKeyCache {
  entries = new Map<string, LiveKey>();
  down = false;
  async get(hash: string) {
    if (this.down) throw new Error('cache down');
    return this.entries.get(hash) ?? null;
  }
  async fill(key: LiveKey) {
    if (this.down) throw new Error('cache down');
    const current = this.entries.get(key.keyHash);
    if (!current || current.version < key.version) this.entries.set(key.keyHash, key);
  }
  async write(key: LiveKey) {
    await this.fill(key);
  }
}

const open: Keyward[] = [];
function keywardOn(options: Parameters<typeof createKeyward>[0]): Keyward {
  const keyward = createKeyward({ changes: { interval: '20ms' }, ...options });
  open.push(keyward);
  return keyward;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((k) => k.close()));
});

async function until(check: () => Promise<boolean>, ms = 1000): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now() - start;
}

describe('following the change log', () => {
  it('hears a revocation made by a writer with no bus and no cache, within a few intervals', async () => {
    const store = new CountingStore();
    const writer = keywardOn({ store, changes: { interval: false } });
    const api = keywardOn({ store });
    const issued = await writer.issue('acme');
    expect(await api.verify(issued.key)).toMatchObject({ valid: true });
    const lookups = store.lookups;
    await writer.revoke(issued.id, { reason: 'leaked' });
    const heard = await until(async () => (await api.verify(issued.key)).valid === false, 500);
    expect(heard).toBeLessThan(500);
    expect(await api.verify(issued.key)).toMatchObject({ reason: 'revoked' });
    // One re-read for the change, not one per request.
    expect(store.lookups).toBe(lookups + 1);
    expect(api.changeLogStatus()).toMatchObject({ running: true, ready: true, failing: false });
  });

  it('never believes a shared-cache entry older than the log, and repairs it from the store', async () => {
    const store = new CountingStore();
    const cache = new VersionedCache();
    const api = keywardOn({ store, cache });
    const writer = keywardOn({ store, changes: { interval: false } }); // no cache: like a CLI without the Redis URL
    const issued = await writer.issue('acme');
    expect(await api.verify(issued.key)).toMatchObject({ valid: true });
    const hash = hashKey(issued.key);
    expect(cache.entries.get(hash)?.status).toBe('active');
    await writer.revoke(issued.id, { reason: 'leaked' });
    await api.catchUp();
    expect(cache.entries.get(hash)?.status).toBe('active'); // still stale in the shared cache
    expect(await api.verify(issued.key)).toMatchObject({ valid: false, reason: 'revoked' });
    await until(async () => cache.entries.get(hash)?.status === 'revoked');
    // A process that starts later replays the window: it does not believe the entry either.
    const stale = toLiveKey({ ...(await store.findKeyByHash(hash))!, status: 'active', version: 1 });
    cache.entries.set(hash, stale);
    const late = keywardOn({ store, cache });
    expect(await late.verify(issued.key)).toMatchObject({ valid: false, reason: 'revoked' });
  });

  it('store down: an entry the log cannot vouch for yet still serves, a known-stale one never does', async () => {
    const store = new CountingStore();
    const cache = new VersionedCache();
    const writer = keywardOn({ store, cache, changes: { interval: false } });
    const kept = await writer.issue('kept');
    const revoked = await writer.issue('revoked');
    const api = keywardOn({ store, cache });
    expect(await api.verify(kept.key)).toMatchObject({ valid: true });
    expect(await api.verify(revoked.key)).toMatchObject({ valid: true });
    // Revoked by a writer that did not reach the cache; the api hears it from the log.
    const noCache = keywardOn({ store, changes: { interval: false } });
    await noCache.revoke(revoked.id, { reason: 'leaked' });
    await api.catchUp();
    store.down = true;
    cache.down = false;
    // A new process while the store is down: the replay cannot run, so cache entries are unchecked.
    const fresh = keywardOn({ store, cache });
    expect(await fresh.verify(kept.key)).toMatchObject({ valid: true });
    // The process that read the log knows the cached `active` entry is stale: never valid.
    expect(await api.verify(revoked.key)).toMatchObject({ valid: false, reason: 'unavailable' });
    expect(await api.verify(kept.key)).toMatchObject({ valid: true });
    store.down = false;
    await until(async () => fresh.changeLogStatus()?.ready === true);
    expect(fresh.changeLogStatus()).toMatchObject({ failing: false });
    expect(await fresh.verify(revoked.key)).toMatchObject({ valid: false, reason: 'revoked' });
  });

  it('a gap in the log (trimmed before it was read) re-confirms every cached key', async () => {
    const clock = new ManualClock();
    const store = new CountingStore();
    const api = keywardOn({ store, clock, changes: { interval: '1m' } });
    const writer = keywardOn({ store, clock, changes: { interval: false } });
    const a = await writer.issue('a');
    await api.catchUp();
    expect(await api.verify(a.key)).toMatchObject({ valid: true });
    await writer.revoke(a.id, { reason: 'x' });
    await store.trimChanges(clock.now() + 1);
    const lookups = store.lookups;
    await api.catchUp();
    expect(await api.verify(a.key)).toMatchObject({ valid: false, reason: 'revoked' });
    expect(store.lookups).toBe(lookups + 1);
  });

  it('a bus reset wakes the follower instead of flushing the cache', async () => {
    let handlers: { invalidate(h: string): void; reset(): void } | undefined;
    const bus = {
      publish: async () => {},
      subscribe: async (h: typeof handlers) => {
        handlers = h;
        return async () => {};
      },
    };
    const store = new CountingStore();
    const api = keywardOn({ store, bus, changes: { interval: '1m' } });
    const writer = keywardOn({ store, changes: { interval: false } });
    const kept = await writer.issue('kept');
    const gone = await writer.issue('gone');
    await api.verify(kept.key);
    await api.verify(gone.key);
    await writer.revoke(gone.id, { reason: 'lost message' });
    const lookups = store.lookups;
    const reads = store.reads;
    handlers?.reset();
    await until(async () => store.reads > reads);
    await api.catchUp();
    expect(await api.verify(kept.key)).toMatchObject({ valid: true });
    expect(await api.verify(gone.key)).toMatchObject({ valid: false, reason: 'revoked' });
    expect(store.lookups).toBe(lookups + 1); // only the changed key was re-read
  });

  it('a change the cache or the bus did not take still stands, and says so', async () => {
    const store = new CountingStore();
    const cache = new VersionedCache();
    const keyward = keywardOn({ store, cache, changes: { interval: false } });
    const issued = await keyward.issue('acme');
    const told: unknown[] = [];
    keyward.on('change.not_shared', (e) => told.push(e));
    cache.down = true;
    const revoked = await keyward.revoke(issued.id, { reason: 'leaked' });
    expect(revoked.status).toBe('revoked');
    expect(told).toMatchObject([{ cache: true, bus: false, fingerprints: [issued.fingerprint], error: 'cache down' }]);
    expect(JSON.stringify(told)).not.toContain(issued.key);
  });

  it('the writer itself never believes the entry its failed write-through left behind, even before the log is read', async () => {
    const store = new CountingStore();
    const cache = new VersionedCache();
    const keyward = keywardOn({ store, cache, changes: { interval: '1m' } });
    const issued = await keyward.issue('acme'); // written through: `active` in the cache
    await keyward.catchUp();
    cache.down = true;
    const write = cache.write.bind(cache);
    cache.write = async () => {
      throw new Error('cache down');
    };
    await keyward.revoke(issued.id, { reason: 'leaked' });
    cache.down = false;
    cache.write = write;
    expect(cache.entries.get(hashKey(issued.key))?.status).toBe('active');
    expect(await keyward.verify(issued.key)).toMatchObject({ valid: false, reason: 'revoked' });
  });

  it('validates its options', () => {
    expect(() => createKeyward({ changes: { interval: '5ms' } })).toThrow(/changes.interval/);
    expect(() => createKeyward({ changes: { interval: 'soon' as never } })).toThrow(/changes.interval/);
    expect(() => createKeyward({ changes: { replayWindow: '2h' } })).toThrow(/changes.retention.*at least changes.replayWindow/);
    const options = { changes: { interval: '1s' as const } };
    createKeyward(options);
    expect(options).toEqual({ changes: { interval: '1s' } });
  });
});
