import { describe, expect, it } from 'vitest';
import type { SharedKeyCache } from './key-cache.js';
import { createKeyward } from './keyward.js';
import { MemoryStore } from './memory-store.js';
import type { LiveKey } from './types.js';

/** A shared cache that answers only when told to: a frozen Redis. */
class FrozenCache implements SharedKeyCache {
  entries = new Map<string, LiveKey>();
  frozen = false;
  private waiting: (() => void)[] = [];
  async get(hash: string) {
    if (this.frozen) await new Promise<void>((resolve) => this.waiting.push(resolve));
    return this.entries.get(hash) ?? null;
  }
  async fill(key: LiveKey) {
    this.entries.set(key.keyHash, key);
  }
  async write(key: LiveKey) {
    this.entries.set(key.keyHash, key);
  }
  thaw() {
    this.frozen = false;
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

class SwitchStore extends MemoryStore {
  down = false;
  override async findKeyByHash(keyHash: string) {
    if (this.down) throw new Error('connection refused');
    return super.findKeyByHash(keyHash);
  }
}

describe('cacheTimeout: a frozen shared cache does not hold up a lookup', () => {
  it('asks the store after cacheTimeout instead of waiting for the cache', async () => {
    const store = new SwitchStore();
    const cache = new FrozenCache();
    const admin = createKeyward({ store, changes: { interval: false } });
    const issued = await admin.issue('acme');
    cache.frozen = true;
    const api = createKeyward({ store, cache, cacheTimeout: '30ms', changes: { interval: false } });
    const started = performance.now();
    expect(await api.verify(issued.key)).toMatchObject({ valid: true, clientId: 'acme' });
    expect(performance.now() - started).toBeLessThan(500);
    cache.thaw();
    await api.close();
  });

  it('with the store down too, decides from the late cache answer; with neither, fails closed', async () => {
    const store = new SwitchStore();
    const cache = new FrozenCache();
    const admin = createKeyward({ store, cache, changes: { interval: false } });
    const issued = await admin.issue('acme'); // written through to the cache
    cache.frozen = true;
    store.down = true;
    const api = createKeyward({ store, cache, cacheTimeout: '20ms', changes: { interval: false } });
    const pending = api.verify(issued.key);
    setTimeout(() => cache.thaw(), 100);
    expect(await pending).toMatchObject({ valid: true });
    const nothing = createKeyward({ store, cache: new FrozenCache(), cacheTimeout: '20ms', changes: { interval: false } });
    expect(await nothing.verify(issued.key)).toMatchObject({ valid: false, reason: 'unavailable' });
  });

  it('is validated', () => {
    expect(() => createKeyward({ cacheTimeout: 'fast' as never })).toThrow(/cacheTimeout/);
  });
});
