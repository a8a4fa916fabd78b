import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import type { VerifyContext } from '../events.js';
import type { InvalidationHandlers } from '../key-cache.js';
import { generateKey } from '../key-format.js';
import { createKeyward } from '../keyward.js';
import { MemoryStore } from '../memory-store.js';
import type { AttemptGate } from './attempt-gate.js';

/** A MemoryStore that counts its lookups. */
class CountingStore extends MemoryStore {
  lookups = 0;
  override async findKeyByHash(keyHash: string) {
    this.lookups++;
    return super.findKeyByHash(keyHash);
  }
}

/** A synchronous gate with a budget, recording what it was asked. */
function budgetGate(max: number) {
  let used = 0;
  const calls: string[] = [];
  const gate: AttemptGate = {
    reserve: (context: VerifyContext | undefined) => {
      calls.push(`reserve:${context?.ip}`);
      return ++used <= max ? 0 : 42;
    },
    release: (context: VerifyContext | undefined) => {
      calls.push(`release:${context?.ip}`);
      used = Math.max(0, used - 1);
    },
  };
  return { gate, calls, used: () => used };
}

function setup() {
  const clock = new ManualClock();
  const store = new CountingStore();
  let handlers: InvalidationHandlers | undefined;
  const keyward = createKeyward({
    store,
    clock,
    lastUsed: { flushInterval: 0 },
    lru: { maxAge: '10s' },
    bus: {
      publish: async () => {},
      subscribe: async (h) => {
        handlers = h;
        return async () => {};
      },
    },
  });
  return { clock, store, keyward, bus: () => handlers };
}

const ctx = { ip: '192.0.2.1' };

describe('verifyFast with an attempt gate', () => {
  it('reserves before looking up an unknown hash, and refuses over budget without any lookup', async () => {
    const { store, keyward } = setup();
    const { gate, used } = budgetGate(3);
    const results = await Promise.all(Array.from({ length: 50 }, () => keyward.verifyFast(generateKey('sk_live'), ctx, undefined, gate)));
    expect(results.filter((r) => !r.valid && r.reason === 'unknown')).toHaveLength(3);
    expect(results.filter((r) => !r.valid && r.reason === 'limited')).toHaveLength(47);
    expect(results.find((r) => !r.valid && r.reason === 'limited')).toMatchObject({ retryAfter: 42, fingerprint: null });
    expect(store.lookups).toBe(3);
    expect(used()).toBe(50); // unknown keys keep their reservation
  });

  it('counts a remembered unknown key too (refused over budget), but a lookup already in flight only once', async () => {
    const { store, keyward } = setup();
    const { gate, calls } = budgetGate(2);
    const guess = generateKey('sk_live');
    const [first, same] = await Promise.all([
      keyward.verifyFast(guess, ctx, undefined, gate),
      keyward.verifyFast(guess, ctx, undefined, gate),
    ]);
    expect([first, same]).toMatchObject([{ reason: 'unknown' }, { reason: 'unknown' }]);
    expect(calls).toEqual(['reserve:192.0.2.1']); // one lookup, one reservation
    expect(keyward.verifyFast(guess, ctx, undefined, gate)).toMatchObject({ reason: 'unknown' }); // the negative cache, counted
    expect(keyward.verifyFast(guess, ctx, undefined, gate)).toMatchObject({ reason: 'limited' });
    expect(store.lookups).toBe(1);
  });

  it('gives the reservation back for a valid or retired key, and never asks about a key it knows', async () => {
    const { clock, store, keyward, bus } = setup();
    const { gate, calls, used } = budgetGate(1);
    const live = await keyward.issue('acme');
    const gone = await keyward.issue('globex');
    await keyward.revoke(gone.id, { reason: 'test' });
    const fresh = createKeyward({ store, clock, lastUsed: { flushInterval: 0 } });
    // Unknown to this process: reserved, looked up, given back.
    expect(await fresh.verifyFast(live.key, ctx, undefined, gate)).toMatchObject({ valid: true });
    expect(await fresh.verifyFast(gone.key, ctx, undefined, gate)).toMatchObject({ reason: 'revoked' });
    expect(calls).toEqual(['reserve:192.0.2.1', 'release:192.0.2.1', 'reserve:192.0.2.1', 'release:192.0.2.1']);
    expect(used()).toBe(0);
    await fresh.close();

    // Known to this process: never asked, even with the budget spent.
    expect(await keyward.verifyFast(live.key, ctx, undefined, gate)).toMatchObject({ valid: true }); // warms the LRU
    calls.length = 0;
    expect(await keyward.verifyFast(generateKey('sk_live'), ctx, undefined, gate)).toMatchObject({ reason: 'unknown' });
    expect(keyward.verifyFast(generateKey('sk_live'), ctx, undefined, gate)).toMatchObject({ reason: 'limited' });
    calls.length = 0;
    const cached = keyward.verifyFast(live.key, ctx, undefined, gate);
    expect(cached).not.toBeInstanceOf(Promise); // the hot path stays synchronous
    expect(cached).toMatchObject({ valid: true });
    expect(await keyward.verifyFast(gone.key, ctx, undefined, gate)).toMatchObject({ reason: 'revoked' }); // invalidated lately: looked up, not asked
    clock.advance(11_000); // past lru.maxAge: re-read, but known
    expect(await keyward.verifyFast(live.key, ctx, undefined, gate)).toMatchObject({ valid: true });
    bus()?.reset(); // a bus reset: every entry must be re-confirmed, but is still known
    expect(await keyward.verifyFast(live.key, ctx, undefined, gate)).toMatchObject({ valid: true });
    expect(calls).toEqual([]);
    await keyward.close();
  });

  it('with a gate that answers by promise, lets concurrent requests for one hash wait for the first instead of reserving again', async () => {
    const { store, keyward } = setup();
    const gone = await keyward.issue('globex');
    await keyward.revoke(gone.id, { reason: 'test' });
    const fresh = createKeyward({ store, lastUsed: { flushInterval: 0 } });
    const { gate, calls } = budgetGate(1);
    const later: AttemptGate = {
      reserve: (c) => new Promise((resolve) => setImmediate(() => resolve(gate.reserve(c)))),
      release: gate.release,
    };
    const lookups = store.lookups;
    const results = await Promise.all(Array.from({ length: 50 }, () => fresh.verifyFast(gone.key, ctx, undefined, later)));
    expect(results.every((r) => !r.valid && r.reason === 'revoked')).toBe(true);
    expect(calls).toEqual(['reserve:192.0.2.1', 'release:192.0.2.1']);
    expect(store.lookups - lookups).toBe(1);
    await fresh.close();
  });

  it('gives the reservation back when the lookup fails (503 is not a guess), and treats a throwing gate as open', async () => {
    const { store, keyward } = setup();
    const live = await keyward.issue('acme');
    const cold = createKeyward({
      store: new Proxy(store, { get: (t, p) => (p === 'findKeyByHash' ? () => Promise.reject(new Error('down')) : Reflect.get(t, p)) }),
    });
    const { gate, used } = budgetGate(1);
    expect(await cold.verifyFast(live.key, ctx, undefined, gate)).toMatchObject({ reason: 'unavailable' });
    expect(used()).toBe(0);
    const broken: AttemptGate = {
      reserve: () => {
        throw new Error('gate bug');
      },
      release: () => {},
    };
    expect(await keyward.verifyFast(generateKey('sk_live'), ctx, undefined, broken)).toMatchObject({ reason: 'unknown' });
    const rejecting: AttemptGate = { reserve: () => Promise.reject(new Error('redis down')), release: () => {} };
    expect(await keyward.verifyFast(generateKey('sk_live'), ctx, undefined, rejecting)).toMatchObject({ reason: 'unknown' });
    await cold.close();
    await keyward.close();
  });
});
