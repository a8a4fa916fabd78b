import { describe, expect, it } from 'vitest';
import { createKeyward } from '../keyward.js';
import { MemoryAttemptLimiter } from './attempt-limiter.js';
import { resolveHttpOptions } from './http-options.js';
import { keywardAttemptLimiter } from './limiter-gate.js';

describe('resolveHttpOptions', () => {
  const keyward = createKeyward();

  it('has documented defaults', () => {
    const config = resolveHttpOptions({ keyward });
    expect(config.extraction).toEqual({ bearer: true, header: 'x-api-key', maxLength: 512, extract: undefined });
    expect(config).toMatchObject({ scheme: 'Bearer', realm: 'api', scopes: [], unavailableRetryAfter: 5 });
    expect(config.gate(keyward)?.limiter).toBeInstanceOf(MemoryAttemptLimiter);
    expect(config.keyward()).toBe(keyward);
  });

  it('gives every route built with default options for one keyward the same limiter (one budget per source)', async () => {
    const auth = resolveHttpOptions({ keyward });
    const rotate = resolveHttpOptions({ keyward: Promise.resolve(keyward), realm: 'rotate' });
    const limiter = auth.gate(keyward)?.limiter;
    expect(limiter).toBe(keywardAttemptLimiter(keyward));
    expect(rotate.gate(await rotate.keyward())?.limiter).toBe(limiter);
    expect(auth.gate(keyward)).toBe(auth.gate(keyward)); // built once per keyward, not per request
    const other = createKeyward();
    expect(resolveHttpOptions({ keyward: other }).gate(other)?.limiter).not.toBe(limiter);
    const given = new MemoryAttemptLimiter();
    expect(resolveHttpOptions({ keyward, limiter: given }).gate(keyward)?.limiter).toBe(given);
  });

  it('never mutates the caller options', () => {
    const options = Object.freeze({ keyward, header: 'X-Token', scopes: Object.freeze(['a']) as readonly string[], realm: 'shop' });
    const config = resolveHttpOptions(options);
    expect(config.extraction.header).toBe('x-token');
    expect(options).toEqual({ keyward, header: 'X-Token', scopes: ['a'], realm: 'shop' });
    expect(config.scopes).not.toBe(options.scopes);
  });

  it('refuses bad values naming the package, option and value', () => {
    const bad = (options: object, pattern: RegExp) =>
      expect(() => resolveHttpOptions({ keyward, ...options } as never, { packageName: '@keyward/express' })).toThrow(pattern);
    bad({ realm: 'a"b' }, /@keyward\/express: option "realm" .*"a\\"b"/);
    bad({ header: 'x api key' }, /option "header"/);
    bad({ header: 'Authorization' }, /option "header" must not be "authorization"/);
    bad({ bearer: false, header: false }, /option "header" cannot be false/);
    bad({ extract: () => 'k', header: 'x-key' }, /option "extract" cannot be combined/);
    bad({ scopes: ['a b'] }, /option "scopes"/);
    bad({ limiter: {} }, /option "limiter"/);
    bad({ unavailableRetryAfter: 0 }, /option "unavailableRetryAfter"/);
    bad({ maxHeaderLength: 10 }, /option "maxHeaderLength"/);
    bad({ keyward: {} }, /option "keyward" must be a Keyward/);
    bad({ realms: 'x' }, /option "realms" is not a known option/);
    expect(() => resolveHttpOptions({})).toThrow(/option "keyward" is required/);
  });

  it('uses ApiKey as the challenge scheme when Bearer is off, and no limiter with false', () => {
    const config = resolveHttpOptions({ keyward, bearer: false, limiter: false });
    expect(config.scheme).toBe('ApiKey');
    expect(config.gate(keyward)).toBeUndefined();
  });

  it('resolves the default keyward lazily, once, and retries after a failed start', async () => {
    let calls = 0;
    let fail = true;
    const limiter = new MemoryAttemptLimiter();
    const config = resolveHttpOptions(
      {},
      {
        keyward: async () => {
          calls++;
          if (fail) throw new Error('bad url');
          return keyward;
        },
        limiter: () => limiter,
      },
    );
    expect(calls).toBe(0);
    await expect(config.keyward()).rejects.toThrow('bad url');
    fail = false;
    const [a, b] = await Promise.all([config.keyward(), config.keyward()]);
    expect(a).toBe(keyward);
    expect(b).toBe(keyward);
    expect(config.keyward()).toBe(keyward); // synchronous once resolved
    expect(calls).toBe(2);
    expect(config.gate(keyward)?.limiter).toBe(limiter); // the zero-config default's, not one per keyward
  });
});
