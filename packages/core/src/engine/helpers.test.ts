import { describe, expect, it } from 'vitest';
import { fromRedisLock } from './lock.js';
import { RateLimiter } from './rate-limiter.js';
import { backoffDelay, safeErrorMessage } from './secret-sink.js';
import { signatureHeader, signatureOf, verifyWebhookSignature } from './webhook-signature.js';

describe('webhook signature', () => {
  it('is HMAC-SHA256 hex over "t.body" (known vector)', () => {
    // printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'whsec_0123456789abcdef'
    expect(signatureOf('whsec_0123456789abcdef', 1_700_000_000, '{"a":1}')).toBe(
      '9f5e37cdc7ea587c7c02062d93283cad000d66a831b2a1676418696db47ed6c2',
    );
    const header = signatureHeader('whsec_0123456789abcdef', '{"a":1}', 1_700_000_000_500);
    expect(header).toBe(`t=1700000000,v1=${signatureOf('whsec_0123456789abcdef', 1_700_000_000, '{"a":1}')}`);
  });

  it('verifies within tolerance, with any of several secrets, and refuses everything else', () => {
    const now = 1_700_000_000_000;
    const header = signatureHeader('secret-one-0123456', 'body', now);
    expect(verifyWebhookSignature({ payload: 'body', header, secret: 'secret-one-0123456', now })).toBe(true);
    expect(verifyWebhookSignature({ payload: Buffer.from('body'), header, secret: ['old-secret-012345', 'secret-one-0123456'], now })).toBe(
      true,
    );
    expect(verifyWebhookSignature({ payload: 'body', header, secret: 'secret-one-0123456', now: now + 301_000 })).toBe(false);
    expect(verifyWebhookSignature({ payload: 'body', header, secret: 'secret-one-0123456', now: now + 301_000, tolerance: '10m' })).toBe(
      true,
    );
    expect(verifyWebhookSignature({ payload: 'body', header: header.replace(/v1=./, 'v1=0'), secret: 'secret-one-0123456', now })).toBe(
      false,
    );
    expect(verifyWebhookSignature({ payload: 'body', header: `${header.slice(0, -2)}`, secret: 'secret-one-0123456', now })).toBe(false);
    expect(verifyWebhookSignature({ payload: 'body', header: 'garbage', secret: 'secret-one-0123456', now })).toBe(false);
  });
});

describe('backoffDelay (full jitter)', () => {
  it('draws in [0, min(max, base·2^(n-1)))', () => {
    expect(backoffDelay(1, 100, 1000, () => 0.999)).toBe(99);
    expect(backoffDelay(3, 100, 1000, () => 0.5)).toBe(200);
    expect(backoffDelay(10, 100, 1000, () => 0.5)).toBe(500);
    expect(backoffDelay(2, 100, 1000, () => 0)).toBe(0);
  });
});

describe('safeErrorMessage', () => {
  it('redacts the key, drops control characters, caps the length', () => {
    const key = 'sk_live_abcdef';
    expect(safeErrorMessage(new Error(`bad ${key}\nline`), key)).toBe('Error: bad [redacted] line');
    expect(safeErrorMessage('x'.repeat(1000), undefined)).toHaveLength(300);
  });
});

describe('RateLimiter', () => {
  it('lets one through per window and counts the rest', () => {
    const limiter = new RateLimiter(1000);
    expect(limiter.hit('a', 0)).toEqual({ allow: true, suppressed: 0 });
    expect(limiter.hit('a', 500).allow).toBe(false);
    expect(limiter.hit('a', 999).allow).toBe(false);
    expect(limiter.hit('b', 999).allow).toBe(true);
    expect(limiter.hit('a', 1000)).toEqual({ allow: true, suppressed: 2 });
  });

  it('stays bounded', () => {
    const limiter = new RateLimiter(1000, 100);
    for (let i = 0; i < 1000; i++) limiter.hit(`k${i}`, i);
    expect(limiter.size).toBeLessThanOrEqual(100);
  });
});

describe('fromRedisLock', () => {
  it('adapts acquire/release/extend', async () => {
    const calls: string[] = [];
    const lock = fromRedisLock({
      async acquire(name, ttl) {
        calls.push(`acquire ${name} ${ttl}`);
        return {
          release: async () => {
            calls.push('release');
            return true;
          },
          extend: async (t: number) => {
            calls.push(`extend ${t}`);
            return true;
          },
        };
      },
    });
    const handle = await lock.acquire('n', 5000);
    await handle?.extend?.(6000);
    await handle?.release();
    expect(calls).toEqual(['acquire n 5000', 'extend 6000', 'release']);
    const none = fromRedisLock({ acquire: async () => null });
    expect(await none.acquire('n', 1)).toBeNull();
  });
});
