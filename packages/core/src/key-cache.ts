import type { LiveKey } from './types.js';

/**
 * The shared cache of live keys between the in-process LRU and the durable store
 * (`@keyward/redis` implements it). Coherence rules (DESIGN.md): the store is
 * written first, then the cache; a status change overwrites the entry with its new
 * status and version (a tombstone for revoked/inactive) instead of deleting it; a
 * read only fills an entry that is absent or older by version and never extends a TTL.
 */
export interface SharedKeyCache {
  /** The cached entry for a hash, or `null` on a miss. Rejects when the cache is unreachable. */
  get(keyHash: string): Promise<LiveKey | null>;
  /** Read-through fill after a store lookup: only where absent or older by version. */
  fill(key: LiveKey): Promise<void>;
  /** Write-through after a committed status change: replaces any entry with a lower version. */
  write(key: LiveKey): Promise<void>;
}

export interface InvalidationHandlers {
  /** Another process changed this key: drop it from the local LRU. */
  invalidate(keyHash: string): void;
  /** The bus lost messages (disconnect): drop the whole local LRU. */
  reset(): void;
}

/**
 * Tells every process that a key's status changed. Redis pub/sub, PostgreSQL
 * LISTEN/NOTIFY, or a polled SQLite change log all fit behind this.
 */
export interface InvalidationBus {
  publish(keyHash: string): Promise<void>;
  subscribe(handlers: InvalidationHandlers): Promise<() => Promise<void>>;
}
