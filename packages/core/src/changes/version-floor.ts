import { LRUCache } from 'lru-cache';

/** What the change log says of a shared-cache entry. */
export type CacheEntryTrust = 'fresh' | 'stale' | 'unchecked';

/**
 * The lowest version a shared-cache (Redis) entry must have to be believed, per key
 * hash, learnt from the store's change log. A writer that never reached Redis (the
 * CLI without a Redis URL, a script, a process that lost Redis) leaves an older entry
 * there, `active` until its TTL ends; a reader that meets an entry below the floor
 * asks the store instead, and its version-checked fill repairs the entry in Redis.
 *
 * A floor only has to outlive the cache entries written before its change: those
 * were set at most one entry TTL earlier and reads never extend a TTL. So floors live
 * for `windowMs` (at least the cache's TTL), and a process that starts replays that
 * window of the log. Until the replay is done, or when a floor younger than the
 * window had to be evicted for space, no entry can be vouched for: entries are then
 * `unchecked` (the store decides; the entry serves only while the store is down).
 */
export class VersionFloor {
  private readonly floors: LRUCache<string, number>;
  private ready = false;
  private distrustUntil = 0;

  constructor(
    private readonly windowMs: number,
    max: number,
    private readonly now: () => number,
  ) {
    this.floors = new LRUCache<string, number>({
      max,
      ttl: windowMs,
      ttlAutopurge: false,
      dispose: (_value, _key, reason) => {
        // A floor evicted before its time leaves its hash unguarded for the rest of the window.
        if (reason === 'evict') this.distrustUntil = Math.max(this.distrustUntil, this.now() + this.windowMs);
      },
    });
  }

  /** A change to `keyHash` at `version` was committed: older cache entries are stale. */
  raise(keyHash: string, status: string, version: number): void {
    // A purged key's last version may still sit in the cache: nothing at or below it is believed.
    const floor = status === 'deleted' ? version + 1 : version;
    const current = this.floors.get(keyHash);
    if (current === undefined || current < floor) this.floors.set(keyHash, floor);
  }

  /** The replay of the window is done: entries without a floor are fresh from now on. */
  markReady(): void {
    this.ready = true;
  }

  /** Missed changes (a gap in the log): nothing is vouched for until the window is replayed again. */
  markUnready(): void {
    this.ready = false;
  }

  get isReady(): boolean {
    return this.ready;
  }

  get size(): number {
    return this.floors.size;
  }

  check(keyHash: string, version: number): CacheEntryTrust {
    const floor = this.floors.get(keyHash);
    if (floor !== undefined && version < floor) return 'stale';
    if (!this.ready || this.now() < this.distrustUntil) return 'unchecked';
    return 'fresh';
  }
}
