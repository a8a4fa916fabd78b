import type { VersionFloor } from '../changes/version-floor.js';
import type { SharedKeyCache } from '../key-cache.js';
import { fingerprintOf } from '../key-hash.js';
import type { KeyStore } from '../key-store.js';
import { errorFields, type Logger } from '../logger.js';
import { type KeyRecord, type LiveKey, needsRotationStart, toLiveKey } from '../types.js';

/** The shared cache did not answer within `cacheTimeout`. */
const SLOW = Symbol('slow');

export interface SharedLookupConfig {
  readonly store: KeyStore;
  readonly cache: SharedKeyCache | undefined;
  readonly logger: Logger;
  /** Versions the change log requires of shared-cache entries; absent without a change log. */
  readonly floor?: VersionFloor;
  /** How long to wait for the shared cache before asking the store as well (ms). */
  readonly cacheTimeout: number;
}

/**
 * A key the in-process LRU does not hold, looked up behind it: the shared cache
 * (Redis), believed only when the change log vouches for its version, else the store
 * (the truth), whose answer repairs the cache with a version-checked fill. Resolves
 * the key, or `null` for a hash nobody holds; rejects when neither can answer.
 *
 * Fallbacks when the store cannot be reached: a cache entry the log could not vouch
 * for yet (a process still replaying the log), or one that came after `cacheTimeout`,
 * still decides, unless the log knows it to be stale. Never anything else.
 */
export class SharedLookup {
  constructor(private readonly config: SharedLookupConfig) {}

  async find(keyHash: string): Promise<LiveKey | null> {
    const { cache, store, logger, floor } = this.config;
    let cacheFailed = false;
    /** A shared-cache entry the change log cannot vouch for yet: used only if the store cannot be reached. */
    let unchecked: LiveKey | undefined;
    /** The shared cache's answer when it came too late to wait for: the store is asked meanwhile. */
    let late: Promise<LiveKey | null> | undefined;
    if (cache !== undefined) {
      try {
        const answer = this.askCache(cache, keyHash);
        const cached = await answer.first;
        if (cached === SLOW) late = answer.late;
        else if (cached !== null) {
          const trust = floor === undefined ? 'fresh' : floor.check(keyHash, cached.version);
          if (trust === 'fresh') return cached;
          // A 'stale' entry predates a change in the log (a writer that never reached the
          // cache): never used. The store answers, and the fill below repairs the entry.
          if (trust === 'unchecked') unchecked = cached;
        }
      } catch (error) {
        cacheFailed = true;
        logger.warn(
          { ...errorFields(error), fingerprint: fingerprintOf(keyHash) },
          'keyward: shared cache lookup failed; asking the store',
        );
      }
    }
    let record: KeyRecord | null;
    try {
      record = await store.findKeyByHash(keyHash);
    } catch (error) {
      logger.error(
        { ...errorFields(error), fingerprint: fingerprintOf(keyHash), cacheFailed, cacheEntryUnchecked: unchecked !== undefined },
        unchecked === undefined && late === undefined
          ? 'keyward: key store lookup failed; answering unavailable'
          : 'keyward: key store lookup failed; deciding from the shared cache if it answers',
      );
      if (late !== undefined) unchecked = (await this.lateEntry(late, keyHash)) ?? unchecked;
      if (unchecked !== undefined) return unchecked;
      throw error;
    }
    if (record === null) return null;
    const key = await this.liveKey(record);
    // A cache that failed, or was too slow to wait for, is not filled either.
    if (cache !== undefined && !cacheFailed && late === undefined) {
      cache.fill(key).catch((error: unknown) => {
        logger.warn({ ...errorFields(error), fingerprint: key.fingerprint }, 'keyward: shared cache fill failed');
      });
    }
    return key;
  }

  /**
   * Asks the shared cache, answering `SLOW` when it has not answered within
   * `cacheTimeout` (a frozen or overloaded Redis): the caller then asks the store
   * instead of waiting for Redis's own timeout, and may still use the late answer.
   */
  private askCache(
    cache: SharedKeyCache,
    keyHash: string,
  ): { first: Promise<LiveKey | null | typeof SLOW>; late: Promise<LiveKey | null> } {
    const late = cache.get(keyHash);
    let timer: NodeJS.Timeout | undefined;
    const slow = new Promise<typeof SLOW>((resolve) => {
      timer = setTimeout(resolve, this.config.cacheTimeout, SLOW);
    });
    const first = Promise.race([late, slow]).finally(() => clearTimeout(timer));
    late.catch(() => undefined); // if the race was lost, nobody else observes a rejection
    return { first, late };
  }

  /** The late cache answer, once the store has failed: a decision unless the log knows it is stale. */
  private async lateEntry(late: Promise<LiveKey | null>, keyHash: string): Promise<LiveKey | undefined> {
    const entry = await late.catch(() => null);
    if (entry === null) return undefined;
    return this.config.floor?.check(keyHash, entry.version) === 'stale' ? undefined : entry;
  }

  /**
   * The record as cached. An accepted key in grace also carries when its rotation
   * started (the `Deprecation` time): one more read, only for such keys, on a miss. A
   * failed read rejects like a failed key lookup (unavailable, never a guess).
   */
  private async liveKey(record: KeyRecord): Promise<LiveKey> {
    if (!needsRotationStart(record)) return toLiveKey(record);
    const { store, logger } = this.config;
    try {
      const rotation = await store.findRotation(record.rotationId);
      return toLiveKey(record, rotation?.createdAt ?? null, rotation?.firstUsedAt ?? null);
    } catch (error) {
      logger.error({ ...errorFields(error), fingerprint: record.fingerprint }, 'keyward: rotation lookup failed; answering unavailable');
      throw error;
    }
  }
}
