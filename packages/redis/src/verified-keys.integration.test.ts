// What a verifier reads from Redis: the key handed to a request is deeply frozen, and
// a key in grace carries its rotation's start (the Deprecation time), also when the
// entry was written by a keyward that did not store it yet.
import { createKeyward, type Keyward, ManualClock, MemoryStore } from '@keyward/core';
import { expectDeeplyFrozen } from '@keyward/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisKeyCache } from './redis-key-cache.js';
import { recordingLogger } from './testing/live-keys.js';
import { type RedisTarget, randomNamespace, startSingleTarget } from './testing/targets.js';

const T0 = Date.UTC(2026, 0, 1);

describe('verified keys read from Redis', () => {
  let target: RedisTarget;
  const namespace = randomNamespace();
  const logger = recordingLogger();
  const clock = new ManualClock(T0);
  const store = new MemoryStore();
  let cache: RedisKeyCache;
  let writer: Keyward;
  const opened: Keyward[] = [];
  /** A keyward with an empty LRU: what it answers, it read from Redis (or `store`). */
  const reader = (own = new MemoryStore()) => {
    const k = createKeyward({ store: own, cache, clock, logger });
    opened.push(k);
    return k;
  };

  beforeAll(async () => {
    target = await startSingleTarget();
    cache = new RedisKeyCache({ client: target.client(), namespace, logger });
    writer = reader(store);
  });
  afterAll(async () => {
    for (const k of opened) await k.close();
    await target.cleanup(namespace);
    await target.close();
  });

  it('are deeply frozen: pushing into scopes throws and later requests see the stored scopes', async () => {
    const { key } = await writer.issue('frozen', { scopes: ['orders:read'] });
    const fromRedis = reader(); // its own store is empty: the key can only come from Redis
    const first = await fromRedis.verify(key);
    expect(first).toMatchObject({ valid: true, clientId: 'frozen' });
    expectDeeplyFrozen(first);
    expect(() => (first.valid ? (first.scopes as string[]) : []).push('admin')).toThrow(TypeError);
    expect(await fromRedis.verify(key)).toMatchObject({ scopes: ['orders:read'] });
  });

  it('carry the rotation start of a key in grace, written through at rotate time', async () => {
    const { key } = await writer.issue('rotating');
    const startedAt = clock.now();
    await writer.rotate('rotating', { grace: '2h' });
    clock.advance(60_000);
    const result = await reader().verify(key); // from Redis only
    expect(result).toMatchObject({ valid: true, sunset: startedAt + 2 * 3_600_000, deprecatedAt: startedAt });
  });

  it('read an entry written without deprecatedAt as a miss, then repair it from the store', async () => {
    const { key, keyHash } = await writer.issue('upgraded').then(async (issued) => ({
      key: issued.key,
      keyHash: (await store.findKeyById(issued.id))?.keyHash as string,
    }));
    const startedAt = clock.now();
    await writer.rotate('upgraded', { grace: '2h' });
    // As an older keyward left it: the same JSON without the field.
    const name = cache.entryName(keyHash);
    const stored = JSON.parse((await target.raw().hget(name, 'd')) as string) as Record<string, unknown>;
    expect(stored.deprecatedAt).toBe(startedAt);
    delete stored.deprecatedAt;
    await target.raw().hset(name, 'd', JSON.stringify(stored));
    expect(await cache.get(keyHash)).toBeNull();

    logger.lines.length = 0;
    const result = await reader(store).verify(key);
    expect(result).toMatchObject({ valid: true, deprecatedAt: startedAt });
    expect(logger.lines.filter((l) => l.level === 'warn')).toEqual([]); // outdated, not corrupt
    await expect.poll(async () => (await cache.get(keyHash))?.deprecatedAt).toBe(startedAt);
  });
});
