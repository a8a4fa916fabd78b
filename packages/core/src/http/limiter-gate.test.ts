import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { generateKey } from '../key-format.js';
import { createKeyward } from '../keyward.js';
import type { Logger } from '../logger.js';
import { MemoryStore } from '../memory-store.js';
import { type AttemptLimiter, MemoryAttemptLimiter } from './attempt-limiter.js';
import { authenticate } from './authenticate.js';
import { type HttpAuthOptions, resolveHttpOptions } from './http-options.js';

const HOUR = 3_600_000;

/** A MemoryStore that counts its lookups: what the limiter protects. */
class CountingStore extends MemoryStore {
  lookups = 0;
  override async findKeyByHash(keyHash: string) {
    this.lookups++;
    return super.findKeyByHash(keyHash);
  }
}

function setup(options: Omit<HttpAuthOptions, 'keyward'> = {}) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const store = new CountingStore();
  const warnings: string[] = [];
  const logger: Logger = {
    warn: (_o: object, message: string) => {
      warnings.push(message);
    },
    error: () => {},
    info: () => {},
    debug: () => {},
  } as unknown as Logger;
  const keyward = createKeyward({ store, clock, logger, grace: '1h', lastUsed: { flushInterval: 0 } });
  const config = resolveHttpOptions({ keyward, ...options });
  const request = (key: string, ip = '198.51.100.1') => authenticate(keyward, { headers: { 'x-api-key': key }, ip }, config);
  const status = async (key: string, ip?: string) => {
    const outcome = await request(key, ip);
    return outcome.ok ? 200 : outcome.error.status;
  };
  return { clock, store, keyward, config, request, status, warnings };
}

describe('authenticate and the failed-attempt limiter', () => {
  it('costs at most the budget in lookups for 1,000 concurrent unknown keys from one source (default limiter: 10)', async () => {
    const { store, request } = setup();
    const outcomes = await Promise.all(Array.from({ length: 1000 }, () => request(generateKey('sk_live'))));
    const statuses = outcomes.map((o) => (o.ok ? 200 : o.error.status));
    expect(store.lookups).toBe(10);
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(990);
    const limited = outcomes.find((o) => !o.ok && o.error.status === 429);
    expect(limited).toMatchObject({ error: { code: 'too_many_attempts', headers: { 'Retry-After': '60' } } });
  });

  it('holds the budget with a limiter that answers by promise (as Redis does)', async () => {
    const memory = new MemoryAttemptLimiter({ max: 5 });
    const later = <T>(value: T) => new Promise<T>((resolve) => setImmediate(() => resolve(value)));
    const remote: AttemptLimiter = {
      check: (s) => later(memory.check(s)),
      hit: (s) => later(memory.hit(s)),
      undo: (s) => later(memory.undo(s)),
      reset: (s) => later(memory.reset(s)),
    };
    const { store, request } = setup({ limiter: remote });
    await Promise.all(Array.from({ length: 300 }, () => request(generateKey('sk_live'))));
    expect(store.lookups).toBe(5);
  });

  it('never refuses a valid key known to this process, whatever its source has spent', async () => {
    const { status, keyward } = setup();
    const issued = await keyward.issue('acme');
    expect(await status(issued.key)).toBe(200);
    for (let i = 0; i < 15; i++) await status(generateKey('sk_live'));
    expect(await status(generateKey('sk_live'))).toBe(429);
    const outcome = authenticate(keyward, { headers: { 'x-api-key': issued.key }, ip: '198.51.100.1' }, resolveHttpOptions({ keyward }));
    expect(outcome).not.toBeInstanceOf(Promise); // a cached key: no promise, no limiter
    expect(outcome).toMatchObject({ ok: true });
  });

  it('does not count retired keys (inactive, revoked, expired) as guesses, cached or not', async () => {
    const { clock, store, status, keyward, config } = setup();
    const revoked = await keyward.issue('a');
    await keyward.revoke(revoked.id, { reason: 'test' });
    const old = await keyward.issue('b');
    const rotation = await keyward.rotate('b');
    await keyward.finalize(rotation.rotationId);
    const expiring = await keyward.issue('c', { ttl: '1h' });
    clock.advance(2 * HOUR);
    const live = await keyward.issue('d');
    for (const retired of [revoked.key, old.key, expiring.key]) for (let i = 0; i < 20; i++) expect(await status(retired)).toBe(401);
    // A process that has not seen them: looked up (reserved), then given back.
    const fresh = createKeyward({ store, clock });
    const freshRequest = (key: string) => authenticate(fresh, { headers: { 'x-api-key': key }, ip: '198.51.100.1' }, config);
    for (const retired of [revoked.key, old.key, expiring.key]) expect(await freshRequest(retired)).toMatchObject({ ok: false });
    expect(await status(live.key)).toBe(200);
    for (let i = 0; i < 10; i++) expect(await status(generateKey('sk_live'))).toBe(401); // the whole budget is still there
    expect(await status(generateKey('sk_live'))).toBe(429);
    await fresh.close();
  });

  it('counts malformed credentials and remembered unknown keys, and answers them 429 once over budget', async () => {
    const { store, request, status, keyward, config } = setup();
    const guess = generateKey('sk_live');
    expect(await status(guess)).toBe(401);
    const lookups = store.lookups;
    for (let i = 0; i < 4; i++) expect(await status(guess)).toBe(401); // remembered: no lookup, counted
    for (let i = 0; i < 4; i++) expect(await status('sk_live_garbage')).toBe(401);
    const twoKeys = { headers: { authorization: `Bearer ${guess}`, 'x-api-key': generateKey('sk_live') }, ip: '198.51.100.1' };
    expect(await authenticate(keyward, twoKeys, config)).toMatchObject({ ok: false, error: { status: 400 } }); // the 10th
    expect(await authenticate(keyward, twoKeys, config)).toMatchObject({ ok: false, error: { status: 429 } });
    expect(await status('sk_live_garbage')).toBe(429);
    expect(await status(guess)).toBe(429);
    expect(await request('sk_live_garbage')).toMatchObject({ ok: false, error: { code: 'too_many_attempts' } });
    expect(store.lookups).toBe(lookups);
  });

  it('counts in this process while the limiter fails: the budget holds, a valid key passes, and the log says so once', async () => {
    const down = new Error('redis down');
    const broken: AttemptLimiter = {
      check: () => Promise.reject(down),
      hit: () => Promise.reject(down),
      undo: () => Promise.reject(down),
      reset: () => Promise.reject(down),
    };
    const { store, request, status, keyward, warnings } = setup({ limiter: broken });
    const issued = await keyward.issue('acme');
    expect(await status(issued.key)).toBe(200);
    await Promise.all(Array.from({ length: 200 }, () => request(generateKey('sk_live'))));
    expect(store.lookups).toBe(1 + 10);
    expect(await status(issued.key)).toBe(200);
    expect(await status(generateKey('sk_live'), '198.51.100.2')).toBe(401); // another source has its own budget
    expect(warnings.filter((w) => w.includes('attempt limiter failed'))).toHaveLength(1);
  });
});
