import { isKeywardError } from '@keyward/core';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisAttemptLimiter } from './redis-attempt-limiter.js';
import { type RedisTarget, randomNamespace, startSingleTarget } from './testing/targets.js';

describe('RedisAttemptLimiter on the real Redis', () => {
  let target: RedisTarget;
  const namespace = randomNamespace();
  let limiter: RedisAttemptLimiter;

  beforeAll(async () => {
    target = await startSingleTarget();
    limiter = new RedisAttemptLimiter({ client: target.client(), namespace, max: 3, window: '1m' });
  });
  afterAll(async () => {
    await target.cleanup(namespace);
    expect(await target.cleanup(namespace)).toBe(0);
    await target.close();
  });

  it('reserves attempts per source under a hash-tagged key with the window as expiry: max within the budget, then wait', async () => {
    expect(await limiter.check('10.0.0.1')).toBe(0);
    expect(await limiter.hit('10.0.0.1')).toBe(0);
    expect(await limiter.hit('10.0.0.1')).toBe(0);
    expect(await limiter.check('10.0.0.1')).toBe(0);
    expect(await limiter.hit('10.0.0.1')).toBe(0); // the third of max 3 is still within the budget
    expect(await limiter.check('10.0.0.1')).toBe(60);
    expect(await limiter.hit('10.0.0.1')).toBe(60); // the fourth is refused
    expect(await limiter.check('10.0.0.2')).toBe(0);
    const name = limiter.keyName('10.0.0.1');
    expect(name).toBe(`${namespace}:attempts:{10.0.0.1}`);
    expect(await target.raw().get(name)).toBe('4');
    const pttl = await target.raw().pttl(name);
    expect(pttl).toBeGreaterThan(55_000);
    expect(pttl).toBeLessThanOrEqual(60_000);
  });

  it('keeps the window fixed (a later failure does not extend it) and reports the remaining time', async () => {
    const source = '2001:db8::1';
    await limiter.hit(source);
    await target.raw().pexpire(limiter.keyName(source), 4_200);
    await limiter.hit(source);
    await limiter.hit(source);
    expect(await limiter.hit(source)).toBe(5);
    expect(await target.raw().pttl(limiter.keyName(source))).toBeLessThanOrEqual(4_200);
  });

  it('starts a new window when the old one expired, and forgets a source on reset', async () => {
    const source = 'expiring';
    await limiter.hit(source);
    await target.raw().del(limiter.keyName(source));
    expect(await limiter.hit(source)).toBe(0);
    await limiter.hit(source);
    await limiter.hit(source);
    expect(await limiter.check(source)).toBeGreaterThan(0);
    await limiter.reset(source);
    expect(await limiter.check(source)).toBe(0);
  });

  it('gives a reservation back with undo, never below zero, keeping the window', async () => {
    const source = 'undo-me';
    const name = limiter.keyName(source);
    await limiter.undo(source); // nothing counted: no key is created
    expect(await target.raw().exists(name)).toBe(0);
    await limiter.hit(source);
    await limiter.hit(source);
    await limiter.undo(source);
    expect(await target.raw().get(name)).toBe('1');
    await limiter.undo(source);
    await limiter.undo(source);
    expect(await target.raw().get(name)).toBe('0');
    expect(await target.raw().pttl(name)).toBeGreaterThan(55_000);
    for (let i = 0; i < 3; i++) expect(await limiter.hit(source)).toBe(0); // the full budget again
    expect(await limiter.hit(source)).toBeGreaterThan(0);
  });

  it('holds the budget under a burst: of 300 concurrent reservations from one source exactly max pass', async () => {
    const answers = await Promise.all(Array.from({ length: 300 }, () => limiter.hit('burst')));
    expect(answers.filter((wait) => wait === 0)).toHaveLength(3);
    expect(answers.filter((wait) => wait > 0)).toHaveLength(297);
  });

  it('hashes sources that would break a hash tag', () => {
    const name = limiter.keyName('we{ird} source');
    expect(name).toMatch(new RegExp(`^${namespace}:attempts:\\{h-[0-9a-f]{32}\\}$`));
  });

  it('shares counts between instances (two processes, one Redis)', async () => {
    const other = new RedisAttemptLimiter({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', namespace, max: 3 });
    try {
      await limiter.hit('shared');
      await other.hit('shared');
      await other.hit('shared');
      expect(await limiter.hit('shared')).toBeGreaterThan(0);
      expect(await limiter.check('shared')).toBeGreaterThan(0);
    } finally {
      await other.close();
    }
  });

  it('rejects with KEYWARD_UNAVAILABLE when Redis is unreachable', async () => {
    const client = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
    client.on('error', () => {});
    const down = new RedisAttemptLimiter({ client, namespace, commandTimeout: '200ms' });
    const error = await down.check('x').catch((e: unknown) => e);
    client.disconnect();
    expect(isKeywardError(error, 'KEYWARD_UNAVAILABLE')).toBe(true);
  });

  it('validates its options', () => {
    expect(() => new RedisAttemptLimiter({ max: 0 })).toThrow(/@keyward\/redis: option "max"/);
    expect(() => new RedisAttemptLimiter({ window: '10ms' })).toThrow(/option "window"/);
  });
});
