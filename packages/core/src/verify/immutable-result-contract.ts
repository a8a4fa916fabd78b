import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import type { KeyStore } from '../key-store.js';
import { createKeyward } from '../keyward.js';
import type { VerifyResult } from '../verify-result.js';

const T0 = Date.UTC(2026, 0, 1);

/** Fails the test unless `value` and every object and array reachable from it are frozen. */
export function expectDeeplyFrozen(value: unknown, path = 'result'): void {
  if (typeof value !== 'object' || value === null) return;
  expect(Object.isFrozen(value), `${path} is frozen`).toBe(true);
  for (const [name, child] of Object.entries(value)) expectDeeplyFrozen(child, `${path}.${name}`);
}

/** What a careless handler does with `req.apiKey`: each attempt must throw (frozen), never stick. */
function tamper(result: VerifyResult): void {
  if (!result.valid) throw new Error(`expected a valid key, got ${result.reason}`);
  expect(() => (result.scopes as string[]).push('admin')).toThrow(TypeError);
  expect(() => {
    (result.scopes as string[])[0] = 'admin';
  }).toThrow(TypeError);
  expect(() => {
    (result as { clientId: string }).clientId = 'other';
  }).toThrow(TypeError);
}

/**
 * Part of the store contract: a verified key read from this store is immutable,
 * nested arrays included, whether it comes from the store (an LRU miss) or from
 * the LRU. One request's handler cannot grant a scope to the next request.
 */
export function immutableResultContract(store: () => KeyStore): void {
  describe('verified keys', () => {
    it('are deeply frozen: a handler pushing into scopes changes nothing for later requests', async () => {
      const keyward = createKeyward({ store: store(), clock: new ManualClock(T0), prefix: 'sk_test' });
      const cold = createKeyward({ store: store(), clock: new ManualClock(T0), prefix: 'sk_test' });
      try {
        const { key } = await keyward.issue('acme', { scopes: ['orders:read'] });
        const first = await keyward.verify(key); // from the store
        expectDeeplyFrozen(first);
        tamper(first);
        const again = await keyward.verify(key); // from the LRU
        expectDeeplyFrozen(again);
        tamper(again);
        for (const result of [await keyward.verify(key), await cold.verify(key)]) {
          expect(result).toMatchObject({ valid: true, clientId: 'acme', scopes: ['orders:read'] });
        }
      } finally {
        await keyward.close();
        await cold.close();
      }
    });
  });
}
