import type { InvalidationBus, InvalidationHandlers, KeyStore } from '@keyward/core';

/** A store that behaves like `store` except for the methods given (a Proxy: every other call is delegated). */
export function wrapStore(store: KeyStore, overrides: Partial<KeyStore>): KeyStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && prop in overrides) return overrides[prop as keyof KeyStore];
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** A store whose every method rejects, like a database that cannot be reached, while `down()` is true. */
export function failingStore(store: KeyStore, down: () => boolean): KeyStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (down())
          return Promise.reject(Object.assign(new Error('connect ECONNREFUSED (simulated store outage)'), { code: 'ECONNREFUSED' }));
        return value.apply(target, args);
      };
    },
  });
}

/** A bus that records what its subscribers are told, in order. */
export function spyBus(bus: InvalidationBus): InvalidationBus & { readonly calls: string[]; resets(): number } {
  const calls: string[] = [];
  return {
    calls,
    resets: () => calls.filter((c) => c === 'reset').length,
    publish: (keyHash) => bus.publish(keyHash),
    subscribe: (handlers: InvalidationHandlers) =>
      bus.subscribe({
        invalidate: (hash) => {
          calls.push(`invalidate:${hash}`);
          handlers.invalidate(hash);
        },
        reset: () => {
          calls.push('reset');
          handlers.reset();
        },
      }),
  };
}

/** Resolves once `check` is true (polling every 10 ms), or rejects after `timeoutMs`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
