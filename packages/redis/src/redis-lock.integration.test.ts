import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisLock } from './redis-lock.js';
import { waitFor } from './testing/redis-server.js';
import { type RedisTarget, randomNamespace, TARGETS } from './testing/targets.js';

describe.each(TARGETS)('RedisLock on $name', ({ start }) => {
  let target: RedisTarget;
  const namespace = randomNamespace();
  let a: RedisLock;
  let b: RedisLock;

  beforeAll(async () => {
    target = await start();
    a = new RedisLock({ client: target.client(), namespace });
    b = new RedisLock({ client: target.client(), namespace });
  });
  afterAll(async () => {
    await target.cleanup(namespace);
    await target.close();
  });

  it('lets exactly one of many concurrent contenders win', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).acquire('scheduler', '10s')));
    const winners = results.filter((h) => h !== null);
    expect(winners).toHaveLength(1);
    const winner = winners[0]!;
    expect(winner.token).toMatch(/^[0-9a-f]{32}$/);
    expect(await target.raw().get(`${namespace}:lock:{scheduler}`)).toBe(winner.token);
    expect(await winner.release()).toBe(true);
    expect(await a.acquire('scheduler', '10s')).not.toBeNull();
  });

  it('expires by its TTL; the old holder can then neither release nor extend the new holder’s lock', async () => {
    const first = await a.acquire('expiring', 300);
    expect(first).not.toBeNull();
    expect(await b.acquire('expiring', 300)).toBeNull();
    await waitFor('lock expiry', async () => (await target.raw().exists(`${namespace}:lock:{expiring}`)) === 0, 2000);
    const second = await b.acquire('expiring', '10s');
    expect(second).not.toBeNull();
    expect(await first!.release()).toBe(false);
    expect(await first!.extend('1m')).toBe(false);
    expect(await target.raw().get(`${namespace}:lock:{expiring}`)).toBe(second!.token);
    const ttl = await target.raw().pttl(`${namespace}:lock:{expiring}`);
    expect(ttl).toBeLessThanOrEqual(10_000);
    await second!.release();
  });

  it('refuses release and extend with a wrong token, and lets the holder extend', async () => {
    const held = await a.acquire('guarded', '5s');
    expect(held).not.toBeNull();
    expect(await b.release('guarded', 'f'.repeat(32))).toBe(false);
    expect(await b.extend('guarded', 'f'.repeat(32), '1h')).toBe(false);
    expect(await target.raw().get(`${namespace}:lock:{guarded}`)).toBe(held!.token);
    expect(await target.raw().pttl(`${namespace}:lock:{guarded}`)).toBeLessThanOrEqual(5000);
    expect(await held!.extend('1h')).toBe(true);
    expect(await target.raw().pttl(`${namespace}:lock:{guarded}`)).toBeGreaterThan(3_500_000);
    expect(await held!.release()).toBe(true);
    expect(await target.raw().exists(`${namespace}:lock:{guarded}`)).toBe(0);
  });

  it('withLock runs the work once, keeps the lock alive while it runs, and releases it', async () => {
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const first = a.withLock('job', 300, async (handle) => {
      runs++;
      await gate;
      return handle.signal.aborted ? 'lost' : 'done';
    });
    await waitFor('first holder running', async () => runs === 1, 2000);
    expect(await b.withLock('job', 300, async () => runs++)).toEqual({ acquired: false });
    await new Promise((r) => setTimeout(r, 700)); // well past the 300 ms TTL: kept alive by extension
    expect(await b.withLock('job', 300, async () => runs++)).toEqual({ acquired: false });
    release();
    expect(await first).toEqual({ acquired: true, value: 'done' });
    expect(runs).toBe(1);
    expect(await target.raw().exists(`${namespace}:lock:{job}`)).toBe(0);
  });

  it('rejects names that would break the hash tag', async () => {
    await expect(a.acquire('a}b', '1s')).rejects.toMatchObject({ code: 'KEYWARD_INVALID_ARGUMENT' });
    await expect(a.acquire('with space', '1s')).rejects.toMatchObject({ code: 'KEYWARD_INVALID_ARGUMENT' });
    await expect(a.acquire('ok', undefined as never)).rejects.toMatchObject({ code: 'KEYWARD_INVALID_ARGUMENT' });
  });
});
