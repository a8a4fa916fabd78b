import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from './clock.js';
import type { InvalidationBus, InvalidationHandlers, SharedKeyCache } from './key-cache.js';
import { generateKey } from './key-format.js';
import { hashKey } from './key-hash.js';
import type { KeyStore } from './key-store.js';
import { createKeyward, type Keyward } from './keyward.js';
import { MemoryStore } from './memory-store.js';
import type { LiveKey } from './types.js';

/** A MemoryStore that counts lookups and can be slowed down or switched off. */
class InstrumentedStore extends MemoryStore {
  lookups = 0;
  touches: { id: string; at: number }[][] = [];
  down = false;
  delay: Promise<void> | undefined;

  override async findKeyByHash(keyHash: string) {
    this.lookups++;
    if (this.delay) await this.delay;
    if (this.down) throw new Error('connection refused');
    return super.findKeyByHash(keyHash);
  }

  override async touchLastUsed(uses: readonly { id: string; at: number }[]) {
    if (this.down) throw new Error('connection refused');
    this.touches.push([...uses]);
    return super.touchLastUsed(uses);
  }
}

/** An in-process SharedKeyCache for unit tests of the lookup order (Redis is tested in @keyward/redis). */
class MapCache implements SharedKeyCache {
  entries = new Map<string, LiveKey>();
  gets = 0;
  down = false;
  async get(hash: string) {
    this.gets++;
    if (this.down) throw new Error('cache down');
    return this.entries.get(hash) ?? null;
  }
  async fill(key: LiveKey) {
    const current = this.entries.get(key.keyHash);
    if (!current || current.version < key.version) this.entries.set(key.keyHash, key);
  }
  async write(key: LiveKey) {
    await this.fill(key);
  }
}

function setup(extra: Parameters<typeof createKeyward>[0] = {}) {
  const clock = new ManualClock();
  const store = new InstrumentedStore();
  // These tests are about the LRU, the shared cache and the bus: the change log is followed in change-follower.test.ts.
  const keyward = createKeyward({ store, clock, lastUsed: { flushInterval: 0 }, changes: { interval: false }, ...extra });
  return { clock, store, keyward };
}

/** An in-process bus that records what is published and hands out the subscriber's handlers. */
function recordingBus() {
  let handlers: InvalidationHandlers | undefined;
  const published: string[] = [];
  const bus: InvalidationBus = {
    async publish(hash) {
      published.push(hash);
    },
    async subscribe(h) {
      handlers = h;
      return async () => {
        handlers = undefined;
      };
    },
  };
  return { bus, published, handlers: () => handlers };
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
afterEach(() => {
  expect(unhandled).toEqual([]);
});

describe('verify: the hot path', () => {
  it('answers missing and malformed input without any I/O', async () => {
    const { store, keyward } = setup();
    const key = generateKey('sk_live');
    for (const input of [undefined, null, '']) expect(await keyward.verify(input)).toMatchObject({ valid: false, reason: 'missing' });
    for (const input of [
      'nope',
      `${key.slice(0, -1)}${key.endsWith('x') ? 'y' : 'x'}`,
      key.replace('sk_live', 'sk_test'),
      42,
      {},
      'x'.repeat(100_000),
    ]) {
      expect(await keyward.verify(input)).toMatchObject({ valid: false, reason: 'malformed', fingerprint: null });
    }
    expect(store.lookups).toBe(0);
  });

  it('serves repeated verifies from the LRU and shares one lookup between concurrent misses', async () => {
    const { store, keyward } = setup();
    const issued = await keyward.issue('acme');
    let release!: () => void;
    store.delay = new Promise<void>((resolve) => {
      release = resolve;
    });
    const many = Array.from({ length: 50 }, () => keyward.verify(issued.key));
    release();
    const results = await Promise.all(many);
    expect(results.every((r) => r.valid)).toBe(true);
    expect(store.lookups).toBe(1);
    store.delay = undefined;
    for (let i = 0; i < 100; i++) await keyward.verify(issued.key);
    expect(store.lookups).toBe(1);
  });

  it('remembers unknown keys briefly in their own cache, and forgets them when a key is issued', async () => {
    const { clock, store, keyward } = setup({ lru: { negativeTtl: '5s' } });
    const stranger = generateKey('sk_live');
    expect(await keyward.verify(stranger)).toMatchObject({ valid: false, reason: 'unknown' });
    expect(await keyward.verify(stranger)).toMatchObject({ valid: false, reason: 'unknown' });
    expect(store.lookups).toBe(1);
    clock.advance(5000);
    await keyward.verify(stranger);
    expect(store.lookups).toBe(2);
    const issued = await keyward.issue('acme');
    expect(await keyward.verify(issued.key)).toMatchObject({ valid: true });
  });

  it('a flood of unknown keys cannot evict live ones', async () => {
    const { store, keyward } = setup({ lru: { max: 10, negativeMax: 10 } });
    const issued = await keyward.issue('acme');
    await keyward.verify(issued.key);
    for (let i = 0; i < 200; i++) await keyward.verify(generateKey('sk_live'));
    const before = store.lookups;
    expect(await keyward.verify(issued.key)).toMatchObject({ valid: true });
    expect(store.lookups).toBe(before);
  });

  it('re-reads an entry older than maxAge, so a change made behind its back is seen', async () => {
    const { clock, store, keyward } = setup({ lru: { maxAge: '30s' } });
    const issued = await keyward.issue('acme');
    await keyward.verify(issued.key);
    const other = createKeyward({ store, clock }); // another process, no bus between them
    await other.revoke(issued.id, { reason: 'elsewhere' });
    expect(await keyward.verify(issued.key)).toMatchObject({ valid: true });
    clock.advance(30_000);
    expect(await keyward.verify(issued.key)).toMatchObject({ valid: false, reason: 'revoked' });
  });

  it('fails closed: store down → cached keys still decided, anything else unavailable, never valid', async () => {
    const { store, keyward } = setup();
    const cached = await keyward.issue('acme');
    const uncached = await keyward.issue('other');
    await keyward.verify(cached.key);
    keyward.invalidate(''); // no-op, just exercising the API
    store.down = true;
    expect(await keyward.verify(cached.key)).toMatchObject({ valid: true });
    expect(await keyward.verify(uncached.key)).toMatchObject({ valid: false, reason: 'unavailable' });
    expect(await keyward.verify(generateKey('sk_live'))).toMatchObject({ valid: false, reason: 'unavailable' });
    store.down = false;
    expect(await keyward.verify(uncached.key)).toMatchObject({ valid: true });
  });

  it('does not let a lookup that began before a revocation put the key back', async () => {
    const { store, keyward } = setup();
    const issued = await keyward.issue('acme');
    let release!: () => void;
    store.delay = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = keyward.verify(issued.key); // loads the key as active, slowly
    await new Promise((r) => setImmediate(r));
    store.delay = undefined;
    await keyward.revoke(issued.id, { reason: 'leaked' });
    release();
    await slow; // it may answer from what it read, but must not cache it
    expect(await keyward.verify(issued.key)).toMatchObject({ valid: false, reason: 'revoked' });
  });

  it('writes last_used_at in batches, not per request', async () => {
    const { clock, store, keyward } = setup({ lastUsed: { flushInterval: '30s', resolution: '60s' } });
    const issued = await keyward.issue('acme');
    for (let i = 0; i < 500; i++) await keyward.verify(issued.key);
    expect(store.touches).toHaveLength(0);
    await keyward.close();
    expect(store.touches).toEqual([[{ id: issued.id, at: clock.now() }]]);
    expect((await store.findKeyById(issued.id))?.lastUsedAt).toBe(clock.now());
  });

  it('keeps answering when an event listener throws', async () => {
    const errors: unknown[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (o: object) => errors.push(o) };
    const { keyward } = setup({ logger });
    keyward.on('key.rejected', () => {
      throw new Error('pager down');
    });
    keyward.on('key.rejected', async () => {
      throw new Error('async pager down');
    });
    expect(await keyward.verify(generateKey('sk_live'))).toMatchObject({ reason: 'unknown' });
    await new Promise((r) => setImmediate(r));
    expect(errors).toHaveLength(2);
  });
});

describe('verify with a shared cache and a bus', () => {
  it('asks LRU, then the shared cache, then the store, filling back up', async () => {
    const cache = new MapCache();
    const { store, keyward, clock } = setup({ cache });
    const issued = await keyward.issue('acme');
    expect(cache.entries.size).toBe(1); // written through at issue
    const fresh = createKeyward({ store, cache, clock });
    expect(await fresh.verify(issued.key)).toMatchObject({ valid: true });
    expect(store.lookups).toBe(0);
    cache.entries.clear();
    const third = createKeyward({ store, cache, clock });
    expect(await third.verify(issued.key)).toMatchObject({ valid: true });
    expect(store.lookups).toBe(1);
    await new Promise((r) => setImmediate(r));
    expect(cache.entries.size).toBe(1); // filled from the store
  });

  it('falls through to the store when the shared cache is down', async () => {
    const cache = new MapCache();
    const { store, keyward, clock } = setup({ cache });
    const issued = await keyward.issue('acme');
    cache.down = true;
    const other = createKeyward({ store, cache, clock });
    expect(await other.verify(issued.key)).toMatchObject({ valid: true });
    store.down = true;
    expect(await createKeyward({ store, cache, clock }).verify(issued.key)).toMatchObject({ reason: 'unavailable' });
  });

  it('drops a key when the bus says so, and everything on reset', async () => {
    const { bus, published, handlers: current } = recordingBus();
    const store = new InstrumentedStore();
    const clock = new ManualClock();
    const noLog = { interval: false } as const; // the bus alone: the change log is followed in change-follower.test.ts
    const admin = createKeyward({ store, bus, clock, changes: noLog });
    const api = createKeyward({ store, bus, clock, changes: noLog });
    const issued = await admin.issue('acme');
    expect(await api.verify(issued.key)).toMatchObject({ valid: true });
    await admin.revoke(issued.id, { reason: 'test' });
    expect(published).toHaveLength(2);
    expect(await api.verify(issued.key)).toMatchObject({ valid: true }); // stale until the bus speaks
    current()?.invalidate(published[1] as string);
    expect(await api.verify(issued.key)).toMatchObject({ valid: false, reason: 'revoked' });
    const lookups = store.lookups;
    current()?.reset();
    await api.verify(issued.key);
    expect(store.lookups).toBe(lookups + 1);
    await api.close();
    expect(current()).toBeUndefined();
  });

  it('after a bus reset, re-confirms every entry, but still decides from it when nothing can be reached', async () => {
    const { bus, handlers: current } = recordingBus();
    const store = new InstrumentedStore();
    const clock = new ManualClock();
    const admin = createKeyward({ store, clock });
    const api = createKeyward({ store, bus, clock, lru: { maxAge: '60s' }, changes: { interval: false } });
    const kept = await admin.issue('kept');
    const revoked = await admin.issue('revoked');
    const dropped = await admin.issue('dropped');
    for (const k of [kept, revoked, dropped]) expect(await api.verify(k.key)).toMatchObject({ valid: true });
    await admin.revoke(revoked.id, { reason: 'message lost while the bus was down' });
    current()?.reset();
    // Store reachable: every entry is re-read, so the missed revocation is seen.
    const before = store.lookups;
    expect(await api.verify(revoked.key)).toMatchObject({ valid: false, reason: 'revoked' });
    expect(store.lookups).toBe(before + 1);
    current()?.reset();
    store.down = true;
    // Store unreachable: unconfirmed entries still decide until their max age...
    expect(await api.verify(kept.key)).toMatchObject({ valid: true });
    expect(await api.verify(revoked.key)).toMatchObject({ valid: false, reason: 'revoked' });
    // ...an invalidated one does not...
    current()?.invalidate(hashKey(dropped.key));
    expect(await api.verify(dropped.key)).toMatchObject({ valid: false, reason: 'unavailable' });
    clock.advance(60_000);
    // ...and past the max age nothing does.
    expect(await api.verify(kept.key)).toMatchObject({ valid: false, reason: 'unavailable' });
  });

  it('does not hammer a failing bus: subscribe is retried at most every few seconds', async () => {
    vi.useFakeTimers();
    try {
      const subscribe = vi.fn(async () => {
        throw new Error('bus down');
      });
      const keyward = createKeyward({ bus: { publish: async () => {}, subscribe } });
      for (let i = 0; i < 20; i++) await keyward.verify(generateKey('sk_live'));
      expect(subscribe).toHaveBeenCalledTimes(1);
      await vi.advanceTimersByTimeAsync(5000);
      await keyward.verify(generateKey('sk_live'));
      expect(subscribe).toHaveBeenCalledTimes(2);
    } finally {
      vi.useRealTimers();
    }
  });
});

/** Counts the SHA-256 computations of `keyward`'s verifier (the work the connection memo saves). */
function countHashes(keyward: Keyward): { count: number } {
  const config = (keyward as unknown as { verifier: { config: { hasher: (key: string) => string } } }).verifier.config;
  const hasher = config.hasher;
  const counter = { count: 0 };
  config.hasher = (key) => {
    counter.count++;
    return hasher(key);
  };
  return counter;
}

describe('verify: the per-connection memo', () => {
  it("answers a connection's repeated key without hashing it again, and hashes for anything else", async () => {
    const { store, keyward } = setup();
    const [a, b] = [await keyward.issue('acme'), await keyward.issue('globex')];
    const hashes = countHashes(keyward);
    const socket = {};
    expect(await keyward.verify(a.key, undefined, socket)).toMatchObject({ valid: true, clientId: 'acme' });
    expect(hashes.count).toBe(1);
    for (let i = 0; i < 10; i++) expect(keyward.verifyFast(a.key, undefined, socket)).toMatchObject({ valid: true, clientId: 'acme' });
    expect(hashes.count).toBe(1);
    // Another connection, another key on this one, or no connection: the full path.
    expect(keyward.verifyFast(a.key, undefined, {})).toMatchObject({ valid: true });
    expect(await keyward.verify(b.key, undefined, socket)).toMatchObject({ valid: true, clientId: 'globex' });
    expect(keyward.verifyFast(a.key)).toMatchObject({ valid: true });
    expect(hashes.count).toBe(4);
    // The memo now holds b's key: a is hashed once more, then remembered again.
    expect(keyward.verifyFast(a.key, undefined, socket)).toMatchObject({ valid: true, clientId: 'acme' });
    expect(keyward.verifyFast(a.key, undefined, socket)).toMatchObject({ valid: true, clientId: 'acme' });
    expect(hashes.count).toBe(5);
    expect(store.lookups).toBe(2);
  });

  it('never matches a different key of the same length, whatever it shares with the remembered one', async () => {
    const { keyward } = setup();
    const issued = await keyward.issue('acme');
    const socket = {};
    await keyward.verify(issued.key, undefined, socket);
    const last = issued.key.at(-1) === 'a' ? 'b' : 'a';
    for (const guess of [
      `${issued.key.slice(0, -1)}${last}`,
      `${issued.key.slice(0, -3)}\u00e9\u00e9\u00e9`,
      'x'.repeat(issued.key.length),
    ]) {
      expect(guess).toHaveLength(issued.key.length);
      expect(await keyward.verify(guess, undefined, socket)).toMatchObject({ valid: false });
    }
    expect(keyward.verifyFast(issued.key, undefined, socket)).toMatchObject({ valid: true });
  });

  it('decides against the clock on every request, and lets go of a key that is revoked, reset or too old', async () => {
    const { bus, published, handlers: current } = recordingBus();
    const store = new InstrumentedStore();
    const clock = new ManualClock();
    // The bus alone (a reset re-confirms entries); with the change log followed, a reset only wakes the follower.
    const admin = createKeyward({ store, bus, clock, changes: { interval: false } });
    const api = createKeyward({ store, bus, clock, keyLifetime: '30d', lru: { maxAge: '60s' }, changes: { interval: false } });
    const socket = {};
    const expiring = await admin.issue('acme', { ttl: '30s' });
    expect(await api.verify(expiring.key, undefined, socket)).toMatchObject({ valid: true });
    clock.advance(30_000); // within the LRU's max age: the memo decides, against the clock
    expect(api.verifyFast(expiring.key, undefined, socket)).toMatchObject({ valid: false, reason: 'expired' });

    const issued = await admin.issue('globex');
    expect(await api.verify(issued.key, undefined, socket)).toMatchObject({ valid: true });
    const hashes = countHashes(api);
    // Too old: re-read from the store, even on the same connection.
    clock.advance(60_000);
    let lookups = store.lookups;
    expect(await api.verify(issued.key, undefined, socket)).toMatchObject({ valid: true });
    expect(store.lookups).toBe(lookups + 1);
    // A bus reset: the memo's entry must be re-confirmed too.
    current()?.reset();
    lookups = store.lookups;
    expect(await api.verify(issued.key, undefined, socket)).toMatchObject({ valid: true });
    expect(store.lookups).toBe(lookups + 1);
    // Revoked elsewhere: once the bus says so, the memo answers no more.
    await admin.revoke(issued.id, { reason: 'leaked' });
    current()?.invalidate(published.at(-1) as string);
    expect(await api.verify(issued.key, undefined, socket)).toMatchObject({ valid: false, reason: 'revoked' });
    expect(hashes.count).toBe(3);
    await Promise.all([admin.close(), api.close()]);
  });

  it('ignores a connection that is not an object instead of throwing', async () => {
    const { keyward } = setup();
    const issued = await keyward.issue('acme');
    for (const connection of ['socket', 42, null]) {
      expect(await keyward.verify(issued.key, undefined, connection as never)).toMatchObject({ valid: true });
      expect(await keyward.verify(issued.key, undefined, connection as never)).toMatchObject({ valid: true });
    }
  });

  it('verifyRepeat answers from the memo alone, reading the key in place, and is undefined for anything else', async () => {
    const { store, keyward } = setup();
    const [a, b] = [await keyward.issue('acme'), await keyward.issue('globex')];
    const socket = {};
    expect(keyward.verifyRepeat(a.key, 0, undefined, socket)).toBeUndefined(); // nothing remembered yet
    await keyward.verify(a.key, undefined, socket);
    const hashes = countHashes(keyward);
    const lookups = store.lookups;
    expect(keyward.verifyRepeat(a.key, 0, undefined, socket)).toMatchObject({ valid: true, clientId: 'acme' });
    expect(keyward.verifyRepeat(`Bearer ${a.key}`, 7, undefined, socket)).toMatchObject({ valid: true, clientId: 'acme' });
    for (const [source, offset] of [
      [`Bearer ${a.key}`, 6], // one character too many
      [`Bearer ${a.key}`, 8], // one too few
      [`Bearer ${a.key}x`, 7],
      [b.key, 0], // valid, but not what this connection presented
      [`${a.key.slice(0, -1)}${a.key.at(-1) === 'a' ? 'b' : 'a'}`, 0],
      [a.key, -1],
      [a.key, Number.NaN],
    ] as const) {
      expect(keyward.verifyRepeat(source, offset, undefined, socket)).toBeUndefined();
    }
    expect(keyward.verifyRepeat(a.key, 0, undefined, {})).toBeUndefined();
    for (const connection of ['socket', 42, null, undefined]) expect(keyward.verifyRepeat(a.key, 0, undefined, connection)).toBeUndefined();
    for (const source of [undefined, null, 42, {}]) expect(keyward.verifyRepeat(source as never, 0, undefined, socket)).toBeUndefined();
    expect(hashes.count).toBe(0);
    expect(store.lookups).toBe(lookups);
    // Revoked here: the memo's entry is dropped with the LRU's, so the caller takes the full path.
    await keyward.revoke(a.id, { reason: 'leaked' });
    expect(keyward.verifyRepeat(a.key, 0, undefined, socket)).toBeUndefined();
    expect(await keyward.verify(a.key, undefined, socket)).toMatchObject({ valid: false, reason: 'revoked' });
  });

  it('is switched off by lru.perConnection: false, and the option is validated', async () => {
    const { keyward } = setup({ lru: { perConnection: false } });
    const issued = await keyward.issue('acme');
    const hashes = countHashes(keyward);
    const socket = {};
    for (let i = 0; i < 3; i++) expect(await keyward.verify(issued.key, undefined, socket)).toMatchObject({ valid: true });
    expect(hashes.count).toBe(3);
    expect(keyward.verifyRepeat(issued.key, 0, undefined, socket)).toBeUndefined();
    expect(() => createKeyward({ lru: { perConnection: 'yes' as never } })).toThrowError(
      /option "lru\.perConnection" must be a boolean; got "yes"/,
    );
  });
});

describe('store-less type check', () => {
  it('accepts any KeyStore implementation', () => {
    const store: KeyStore = new MemoryStore();
    expect(createKeyward({ store }).store).toBe(store);
  });
});
