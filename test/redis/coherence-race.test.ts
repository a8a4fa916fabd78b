import { createKeyward, hashKey, type KeyRecord, type LiveKey, MemoryStore } from '@keyward/core';
import { RedisInvalidationBus, RedisKeyCache } from '@keyward/redis';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { randomNamespace, singleUrl } from '../../packages/redis/src/testing/targets.js';
import { spyBus, until, wrapStore } from './helpers.js';

/**
 * DESIGN.md, cache coherence: a slow reader loads a key as active, the key is revoked (store
 * first, then the tombstone in Redis), then the slow reader's fill lands. Redis must still say
 * revoked, and every verify afterwards must say revoked.
 */
describe('Redis cache coherence: revoke racing a slow reader', () => {
  const namespace = randomNamespace();
  const raw = new Redis(singleUrl());
  const closers: (() => Promise<unknown>)[] = [];

  afterAll(async () => {
    for (const close of closers.reverse()) await close();
    let cursor = '0';
    do {
      const [next, keys] = await raw.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await raw.del(...keys);
    } while (cursor !== '0');
    await raw.quit();
  });

  it('keeps the tombstone when the stale fill lands after the revoke', async () => {
    const store = new MemoryStore();
    const cacheOptions = { client: raw, namespace };

    // The admin process: revokes, writing the store first, then the tombstone, then publishing.
    const adminBus = new RedisInvalidationBus(cacheOptions);
    const admin = createKeyward({ store, cache: new RedisKeyCache(cacheOptions), bus: adminBus });

    // The reader process: its store lookups can be held after the row was read.
    let armed: string | undefined;
    let rowRead!: (record: KeyRecord | null) => void;
    const read = new Promise<KeyRecord | null>((r) => {
      rowRead = r;
    });
    let releaseReader!: () => void;
    const readerReleased = new Promise<void>((r) => {
      releaseReader = r;
    });
    const slowStore = wrapStore(store, {
      async findKeyByHash(keyHash) {
        const record = await store.findKeyByHash(keyHash);
        if (keyHash === armed) {
          rowRead(record);
          await readerReleased;
        }
        return record;
      },
    });
    const readerCache = new RedisKeyCache(cacheOptions);
    const fills: { key: LiveKey; written: Promise<boolean> }[] = [];
    const spyCache = {
      get: (h: string) => readerCache.get(h),
      write: (k: LiveKey) => readerCache.write(k),
      fill: (k: LiveKey) => {
        const written = readerCache.tryFill(k);
        fills.push({ key: k, written });
        return written.then(() => undefined);
      },
    };
    const readerBus = spyBus(new RedisInvalidationBus(cacheOptions));
    const reader = createKeyward({ store: slowStore, cache: spyCache, bus: readerBus });
    closers.push(
      () => admin.close(),
      () => reader.close(),
      () => adminBus.close(),
    );
    await reader.subscribe();

    const issued = await admin.issue('acme', { scopes: ['orders:read'] });
    const keyHash = hashKey(issued.key);
    const entry = readerCache.entryName(keyHash);
    expect(await raw.hget(entry, 'v')).toBe('1'); // issue wrote it through
    await raw.del(entry); // ...and its TTL ran out

    // 1. The slow reader misses Redis and reads the row while the key is still active.
    armed = keyHash;
    const slowVerify = reader.verify(issued.key);
    const seen = await read;
    expect(seen?.status).toBe('active');
    expect(seen?.version).toBe(1);

    // 2. The key is revoked: store, then the tombstone, then the invalidation.
    await admin.revoke(issued.id, { reason: 'leaked in a log' });
    expect(await readerCache.get(keyHash)).toMatchObject({ status: 'revoked', version: 2 });
    await until('the invalidation to reach the reader', () => readerBus.calls.includes(`invalidate:${keyHash}`));

    // 3. The slow reader's stale fill lands now.
    releaseReader();
    const slowResult = await slowVerify;
    expect(slowResult.valid).toBe(true); // it read the row before the revoke: linearizable
    await until('the stale fill', () => fills.length === 1);
    expect(fills[0]!.key).toMatchObject({ status: 'active', version: 1 });
    expect(await fills[0]!.written).toBe(false); // refused by the version check

    // Redis still says revoked...
    expect(await raw.hmget(entry, 'v')).toEqual(['2']);
    expect(await readerCache.get(keyHash)).toMatchObject({ status: 'revoked', version: 2, id: issued.id });

    // ...the reader says revoked (its LRU was not filled by the stale lookup)...
    armed = undefined;
    expect(await reader.verify(issued.key)).toMatchObject({ valid: false, reason: 'revoked', keyId: issued.id });

    // ...and a fresh process decides it from the Redis tombstone alone, without the store.
    let storeLookups = 0;
    const countingStore = wrapStore(store, {
      findKeyByHash: (h) => {
        storeLookups++;
        return store.findKeyByHash(h);
      },
    });
    const fresh = createKeyward({ store: countingStore, cache: new RedisKeyCache(cacheOptions) });
    closers.push(() => fresh.close());
    expect(await fresh.verify(issued.key)).toMatchObject({ valid: false, reason: 'revoked' });
    expect(storeLookups).toBe(0);
  });
});
