import { isKeywardError } from '@keyward/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisKeyCache } from './redis-key-cache.js';
import { liveKey, recordingLogger } from './testing/live-keys.js';
import { sparePort } from './testing/redis-server.js';
import { type RedisTarget, randomNamespace, TARGETS } from './testing/targets.js';

describe.each(TARGETS)('RedisKeyCache on $name', ({ start }) => {
  let target: RedisTarget;
  const namespace = randomNamespace();
  const logger = recordingLogger();
  let cache: RedisKeyCache;

  beforeAll(async () => {
    target = await start();
    cache = new RedisKeyCache({ client: target.client(), namespace, ttl: '2m', tombstoneTtl: '10m', logger });
  });
  afterEach(() => {
    logger.lines.length = 0;
  });
  afterAll(async () => {
    await target.cleanup(namespace);
    await target.close();
  });

  const raw = () => target.raw();
  const pttl = (key: ReturnType<typeof liveKey>) => raw().pttl(cache.entryName(key.keyHash));

  it('misses, then hits with exactly the filled LiveKey, under a hash-tagged name', async () => {
    const key = liveKey({ graceUntil: Date.now() + 1000, rotationId: 'rot-1', scopes: ['a', 'b:c'] });
    expect(await cache.get(key.keyHash)).toBeNull();
    await cache.fill(key);
    expect(await cache.get(key.keyHash)).toEqual(key);
    expect(cache.entryName(key.keyHash)).toBe(`${namespace}:key:{${key.keyHash}}`);
    expect(await raw().hgetall(cache.entryName(key.keyHash))).toEqual({ v: '1', d: expect.stringContaining(key.keyHash) });
  });

  it('sets the TTL on fill and never extends it by a later fill', async () => {
    const key = liveKey();
    await cache.fill(key);
    const first = await pttl(key);
    expect(first).toBeGreaterThan(110_000);
    expect(first).toBeLessThanOrEqual(120_000);
    await raw().pexpire(cache.entryName(key.keyHash), 5000);
    expect(await cache.tryFill(key)).toBe(false); // same version: kept as is
    expect(await pttl(key)).toBeLessThanOrEqual(5000);
    const newer = { ...key, scopes: ['x'], version: 2 };
    expect(await cache.tryFill(newer)).toBe(true); // newer data replaces...
    expect(await cache.get(key.keyHash)).toEqual(newer);
    const after = await pttl(key);
    expect(after).toBeGreaterThan(0);
    expect(after).toBeLessThanOrEqual(5000); // ...but keeps the remaining TTL
  });

  it('never lets a fill overwrite a newer entry', async () => {
    const key = liveKey({ version: 3 });
    await cache.write(key);
    expect(await cache.tryFill({ ...key, version: 2, scopes: ['old'] })).toBe(false);
    expect(await cache.get(key.keyHash)).toEqual(key);
  });

  it('write replaces an older entry and sets the tombstone TTL; it never replaces a newer one', async () => {
    const key = liveKey({ version: 1 });
    await cache.fill(key);
    await raw().pexpire(cache.entryName(key.keyHash), 5000);
    const revoked = { ...key, status: 'revoked' as const, version: 2 };
    expect(await cache.tryWrite(revoked)).toBe(true);
    expect(await cache.get(key.keyHash)).toEqual(revoked);
    expect(await pttl(key)).toBeGreaterThan(590_000);
    expect(await cache.tryWrite({ ...key, version: 1 })).toBe(false);
    expect(await cache.get(key.keyHash)).toEqual(revoked);
  });

  it('a tombstone blocks a later stale fill of the active key', async () => {
    const active = liveKey({ version: 4 });
    const revoked = { ...active, status: 'revoked' as const, version: 5 };
    await cache.write(revoked);
    expect(await cache.tryFill(active)).toBe(false);
    expect(await cache.get(active.keyHash)).toEqual(revoked);
    const inactive = liveKey({ version: 7, status: 'inactive' });
    await cache.fill(inactive); // a retired key read from the store gets the tombstone TTL too
    expect(await pttl(inactive)).toBeGreaterThan(590_000);
  });

  it.each([
    ['a string under the name', async (name: string) => void (await target.raw().set(name, 'garbage')), 'not a hash'],
    ['JSON that does not parse', async (name: string) => void (await target.raw().hset(name, 'v', '1', 'd', '{nope')), 'not JSON'],
    [
      'a version field that disagrees',
      async (name: string, json: string) => void (await target.raw().hset(name, 'v', '9', 'd', json)),
      'bad version',
    ],
    ['a missing field', async (name: string) => void (await target.raw().hset(name, 'v', '1')), 'missing field'],
    [
      'a bad status',
      async (name: string, json: string) => void (await target.raw().hset(name, 'v', '1', 'd', json.replace('"active"', '"weird"'))),
      'bad status',
    ],
    [
      'another key hash',
      async (name: string, json: string) =>
        void (await target.raw().hset(name, 'v', '1', 'd', json.replace(/"keyHash":"[0-9a-f]+"/, `"keyHash":"${'0'.repeat(64)}"`))),
      'keyHash',
    ],
  ])('treats %s as a logged miss, and the next fill repairs it', async (_, corrupt, problem) => {
    const key = liveKey();
    const other = liveKey({ keyHash: key.keyHash });
    await cache.fill(other);
    const json = (await target.raw().hget(cache.entryName(key.keyHash), 'd')) as string;
    await target.raw().del(cache.entryName(key.keyHash));
    await corrupt(cache.entryName(key.keyHash), json);
    expect(await cache.get(key.keyHash)).toBeNull();
    const warning = logger.lines.find((l) => l.level === 'warn');
    expect(warning?.obj).toEqual({ fingerprint: key.keyHash.slice(0, 8), problem: expect.stringContaining(problem) });
    expect(await cache.tryFill(key)).toBe(true);
    expect(await cache.get(key.keyHash)).toEqual(key);
  });

  it('rejects a malformed hash or LiveKey without touching Redis', async () => {
    await expect(cache.get('not-hex')).rejects.toMatchObject({ code: 'KEYWARD_INVALID_ARGUMENT' });
    await expect(cache.fill({ ...liveKey(), version: -1 })).rejects.toMatchObject({ code: 'KEYWARD_INVALID_ARGUMENT' });
    await expect(cache.get(`${'a'.repeat(60)}}{x`)).rejects.toMatchObject({ code: 'KEYWARD_INVALID_ARGUMENT' });
  });

  it('leaves an injected client open on close', async () => {
    const client = target.client();
    const own = new RedisKeyCache({ client, namespace });
    const key = liveKey();
    await own.fill(key);
    await own.close();
    expect(client.status).toBe('ready');
    expect(await client.exists(own.entryName(key.keyHash))).toBe(1);
  });
});

describe('RedisKeyCache with Redis unreachable', () => {
  it('rejects get/fill/write at once with KEYWARD_UNAVAILABLE, without unhandled errors', async () => {
    const port = await sparePort();
    const cache = new RedisKeyCache({ url: `redis://127.0.0.1:${port}`, namespace: randomNamespace() });
    const key = liveKey();
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      const error = await cache.get(key.keyHash).catch((e: unknown) => e);
      expect(isKeywardError(error, 'KEYWARD_UNAVAILABLE')).toBe(true);
      expect(performance.now() - started).toBeLessThan(300);
    }
    await expect(cache.fill(key)).rejects.toMatchObject({ code: 'KEYWARD_UNAVAILABLE' });
    await expect(cache.write(key)).rejects.toMatchObject({ code: 'KEYWARD_UNAVAILABLE' });
    await cache.close();
  });

  it('bounds a call by commandTimeout even when an injected client queues commands offline', async () => {
    const { Redis } = await import('ioredis');
    const port = await sparePort();
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, enableOfflineQueue: true, maxRetriesPerRequest: null });
    client.on('error', () => {});
    const cache = new RedisKeyCache({ client, commandTimeout: 200 });
    const started = performance.now();
    await expect(cache.get(liveKey().keyHash)).rejects.toMatchObject({ code: 'KEYWARD_UNAVAILABLE' });
    expect(performance.now() - started).toBeLessThan(600);
    client.disconnect();
  });

  it('works with the url option and closes the client it created', async () => {
    const namespace = randomNamespace();
    const cache = new RedisKeyCache({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', namespace });
    const key = liveKey();
    await cache.write(key);
    expect(await cache.get(key.keyHash)).toEqual(key);
    const { Redis } = await import('ioredis');
    const raw = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    await raw.del(cache.entryName(key.keyHash));
    await cache.close();
    await expect(cache.get(key.keyHash)).rejects.toMatchObject({ code: 'KEYWARD_UNAVAILABLE' });
    await raw.quit();
  });
});
