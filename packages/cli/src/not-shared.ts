import type { Keyward, KeywardEvents } from '@keyward/core';
import type { Output } from './output.js';

type NotShared = KeywardEvents['change.not_shared'];

/**
 * Watches one command for changes the store committed but Redis did not take (down,
 * frozen, unreachable from this shell). The change stands: running APIs read it from
 * the store's change log within about a second. The operator is told so on stderr, and
 * a `--json` document says it under `sharedCache`.
 */
export function watchNotShared(keyward: Keyward, out: Output): { out: Output; report(): void; stop(): void } {
  const seen: NotShared[] = [];
  const stop = keyward.on('change.not_shared', (event) => void seen.push(event));
  const summary = () => ({
    updated: false,
    cache: seen.some((e) => e.cache),
    bus: seen.some((e) => e.bus),
    error: seen[0]?.error ?? '',
    note: 'the change is committed; other processes learn it from the store change log within about a second',
  });
  const wrapped: Output = {
    ...out,
    data(value) {
      const plain = typeof value === 'object' && value !== null && !Array.isArray(value);
      out.data(seen.length > 0 && plain ? { ...(value as object), sharedCache: summary() } : value);
    },
  };
  return {
    out: wrapped,
    report() {
      if (seen.length === 0) return;
      const { cache, bus, error } = summary();
      const what = [cache ? 'shared cache (Redis) not updated' : '', bus ? 'invalidation not published' : ''].filter(Boolean).join(', ');
      out.info(
        `keyward: warning: ${what} (${error}); the change is committed, and running processes learn it from the store's change log within about a second`,
      );
    },
    stop,
  };
}
