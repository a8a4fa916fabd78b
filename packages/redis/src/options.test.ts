import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisInvalidationBus } from './redis-invalidation-bus.js';
import { RedisKeyCache } from './redis-key-cache.js';
import { RedisLock } from './redis-lock.js';

function thrown(fn: () => unknown): { code?: string; message: string } {
  try {
    fn();
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('did not throw');
}

describe('@keyward/redis options', () => {
  it.each([
    [{ namespace: 'has space' }, 'namespace', '"has space"'],
    [{ namespace: 'a{b}' }, 'namespace', '"a{b}"'],
    [{ namespace: '' }, 'namespace', '""'],
    [{ commandTimeout: 0 }, 'commandTimeout', '0'],
    [{ commandTimeout: 'soon' }, 'commandTimeout', '"soon"'],
    [{ ttl: '1ms' }, 'ttl', '"1ms"'],
    [{ ttl: '10m', tombstoneTtl: '5m' }, 'tombstoneTtl', '"5m"'],
    [{ client: {} }, 'client', 'a object'],
    [{ url: 'http://example.com' }, 'url', '"http://example.com/"'],
    [{ logger: { info: () => {} } }, 'logger', 'a object'],
  ])('rejects %o naming the package, option and value', (options, option, value) => {
    const error = thrown(() => new RedisKeyCache(options as never));
    expect(error.code).toBe('KEYWARD_INVALID_OPTION');
    expect(error.message).toContain('@keyward/redis');
    expect(error.message).toContain(`"${option}"`);
    expect(error.message).toContain(value);
  });

  it('never puts a password from a bad URL in the message', () => {
    const error = thrown(() => new RedisInvalidationBus({ url: 'http://user:hunter2secret@example.com:6379' }));
    expect(error.code).toBe('KEYWARD_INVALID_OPTION');
    expect(error.message).not.toContain('hunter2secret');
    expect(error.message).toContain('***');
  });

  it('refuses a client and a url together', () => {
    const client = new Redis({ lazyConnect: true });
    const error = thrown(() => new RedisLock({ client, url: 'redis://127.0.0.1:6379' } as never));
    expect(error.message).toContain('"url"');
    client.disconnect();
  });

  it('does not mutate the options, does no I/O in the constructor, and applies the defaults', async () => {
    const client = new Redis({ lazyConnect: true });
    const options = Object.freeze({ client, ttl: '1m', logger: undefined });
    const cache = new RedisKeyCache(options);
    const bus = new RedisInvalidationBus({ client });
    const lock = new RedisLock({ client });
    await new Promise((r) => setTimeout(r, 20));
    expect(client.status).toBe('wait');
    expect(options).toEqual({ client, ttl: '1m', logger: undefined });
    expect(cache.namespace).toBe('keyward');
    expect(cache.ttls).toEqual({ ttl: 60_000, tombstoneTtl: 900_000 });
    expect(new RedisKeyCache({ client, ttl: '1h' }).ttls).toEqual({ ttl: 3_600_000, tombstoneTtl: 3_600_000 });
    expect(bus.channel).toBe('keyward:invalidate');
    expect(lock.namespace).toBe('keyward');
    expect(cache.entryName('ab'.repeat(32))).toBe(`keyward:key:{${'ab'.repeat(32)}}`);
    client.disconnect();
  });

  it('constructs from a url without connecting', () => {
    const cache = new RedisKeyCache({ url: 'redis://127.0.0.1:1', namespace: 'x' });
    expect(cache.namespace).toBe('x');
    return cache.close();
  });
});
