import { createKeyward, generateKey, hashKey, MemoryStore } from '@keyward/core';
import { RedisInvalidationBus, RedisKeyCache } from '@keyward/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedisServer, type TestRedisServer } from '../../packages/redis/src/testing/redis-server.js';
import { randomNamespace } from '../../packages/redis/src/testing/targets.js';
import { failingStore, spyBus, until } from './helpers.js';

/** Runs `verify` and says how long it took. */
async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}

describe('Redis outage: keyward keeps deciding, fails closed, and recovers by itself', () => {
  let server: TestRedisServer;
  let unhandled = 0;
  const onUnhandled = () => {
    unhandled++;
  };
  const closers: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    server = await startTestRedisServer();
  });
  afterAll(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await server.destroy();
    process.off('unhandledRejection', onUnhandled);
  });

  it('survives Redis going down (and the store too), then resubscribes and uses the cache again', async () => {
    const namespace = randomNamespace();
    const store = new MemoryStore();
    let storeDown = false;
    const cache = new RedisKeyCache({ url: server.url, namespace });
    const bus = spyBus(new RedisInvalidationBus({ url: server.url, namespace }));
    const api = createKeyward({ store: failingStore(store, () => storeDown), cache, bus });
    const adminCache = new RedisKeyCache({ url: server.url, namespace });
    const adminBus = new RedisInvalidationBus({ url: server.url, namespace });
    const admin = createKeyward({ store, cache: adminCache, bus: adminBus });
    closers.push(
      () => api.close(),
      () => admin.close(),
      () => cache.close(),
      () => adminCache.close(),
      () => adminBus.close(),
    );

    const a = await admin.issue('acme');
    const b = await admin.issue('globex');
    const unknownKey = generateKey('sk_live');
    await api.subscribe();
    expect(bus.resets()).toBe(1);
    expect(await api.verify(a.key)).toMatchObject({ valid: true, keyId: a.id }); // now in the LRU

    // Redis goes away.
    await server.stop();
    await until('the bus to notice the drop', () => bus.resets() === 2);

    // Redis and the store unreachable at once: the bus reset left the LRU entry
    // unconfirmed, and with nothing to confirm it against it still decides.
    storeDown = true;
    expect(await api.verify(a.key)).toMatchObject({ valid: true, keyId: a.id });
    storeDown = false;

    // The store is fine: everything is decided from it, quickly.
    const fromStore = await timed(() => api.verify(a.key));
    expect(fromStore.value).toMatchObject({ valid: true, keyId: a.id });
    expect(fromStore.ms).toBeLessThan(1000);

    // The store is down too: the key in the LRU still verifies; anything else is `unavailable`, fast.
    storeDown = true;
    expect(await api.verify(a.key)).toMatchObject({ valid: true, keyId: a.id });
    const unknown = await timed(() => api.verify(unknownKey));
    expect(unknown.value).toMatchObject({ valid: false, reason: 'unavailable' });
    expect(unknown.ms).toBeLessThan(1000);
    const notCached = await timed(() => api.verify(b.key));
    expect(notCached.value).toMatchObject({ valid: false, reason: 'unavailable' });
    expect(notCached.ms).toBeLessThan(1000);

    // Store back, Redis still down: decided from the store.
    storeDown = false;
    expect(await api.verify(b.key)).toMatchObject({ valid: true, keyId: b.id });
    expect(await api.verify(unknownKey)).toMatchObject({ valid: false, reason: 'unknown' });

    // Redis comes back on the same port (empty): the bus resubscribes by itself and flushes again.
    await server.restart();
    await until('the bus to resubscribe', () => bus.resets() === 3, 5000);
    // Every client reconnects by itself (at most 1 s between attempts).
    const works = (call: () => Promise<unknown>) => () =>
      call().then(
        () => true,
        () => false,
      );
    await until(
      'the api cache connection to be back',
      works(() => cache.get(hashKey(b.key))),
      5000,
    );
    await until(
      'the admin cache connection to be back',
      works(() => adminCache.get(hashKey(b.key))),
      5000,
    );
    await until(
      'the admin bus connection to be back',
      works(() => adminBus.publish('0'.repeat(64))),
      5000,
    );

    // An invalidation published after the restart reaches the subscriber...
    await admin.revoke(b.id, { reason: 'offboarded' });
    await until('the invalidation after restart', () => bus.calls.includes(`invalidate:${hashKey(b.key)}`));
    // ...and the cache works again: with the store down, the tombstone in Redis decides.
    storeDown = true;
    expect(await cache.get(hashKey(b.key))).toMatchObject({ status: 'revoked', version: 2 });
    expect(await api.verify(b.key)).toMatchObject({ valid: false, reason: 'revoked', keyId: b.id });
    storeDown = false;

    expect(unhandled).toBe(0);
  });
});
