import { LRUCache } from 'lru-cache';
import type { Clock } from './clock.js';
import type { KeywardEmitter, VerifyContext } from './events.js';
import type { SharedKeyCache } from './key-cache.js';
import { checkKeyFormat } from './key-format.js';
import type { KeyHasher } from './key-hash.js';
import { fingerprintOf } from './key-hash.js';
import type { KeyStore } from './key-store.js';
import { refusalAt } from './lifecycle.js';
import { errorFields, type Logger } from './logger.js';
import { type LiveKey, toLiveKey } from './types.js';
import type { UsageRecorder } from './usage-recorder.js';
import {
  type InvalidKey,
  MALFORMED,
  MISSING,
  refusedResult,
  UNAVAILABLE,
  unknownResult,
  type VerifyResult,
  validResult,
} from './verify-result.js';

/** One LRU entry: the key as last loaded, when, and its results built once. */
interface Entry {
  readonly key: LiveKey;
  readonly loadedAt: number;
  /** Verifier epoch at load: an entry older than the last bus reset must be re-confirmed. */
  readonly epoch: number;
  readonly valid: VerifyResult;
  refused: InvalidKey | undefined;
  lastTouch: number;
}

export interface VerifierConfig {
  store: KeyStore;
  cache: SharedKeyCache | undefined;
  clock: Clock;
  hasher: KeyHasher;
  prefix: string;
  events: KeywardEmitter;
  logger: Logger;
  lruMax: number;
  maxAge: number;
  negativeMax: number;
  negativeTtl: number;
  usage: UsageRecorder;
  usageResolution: number;
}

/**
 * The hot path (DESIGN.md): parse + checksum (no I/O for garbage) → hash → LRU →
 * shared cache → store, populating back up. Status is decided against the clock
 * on every call from the cached timestamps, never cached as a boolean.
 */
export class Verifier {
  private readonly lru: LRUCache<string, Entry>;
  /** Unknown hashes, in their own bounded cache so a flood cannot evict live keys. */
  private readonly negative: LRUCache<string, number>;
  private readonly inflight = new Map<string, Promise<LiveKey | null>>();
  /** Invalidation counter: a lookup that started before an invalidation must not fill the LRU. */
  private epoch = 0;
  private resetEpoch = 0;
  private readonly invalidatedAt: LRUCache<string, number>;

  constructor(private readonly config: VerifierConfig) {
    this.lru = new LRUCache({ max: config.lruMax });
    this.negative = new LRUCache({ max: config.negativeMax });
    this.invalidatedAt = new LRUCache({ max: Math.max(1024, config.lruMax) });
  }

  async verify(presented: unknown, context?: VerifyContext): Promise<VerifyResult> {
    return this.verifyFast(presented, context);
  }

  /**
   * The same decision as `verify`, answered synchronously when it needs no I/O
   * (garbage, an LRU hit, a remembered unknown key) and as a promise otherwise, so
   * an adapter's hot path need not pay for a promise per request.
   */
  verifyFast(presented: unknown, context?: VerifyContext): VerifyResult | Promise<VerifyResult> {
    if (presented === undefined || presented === null || presented === '') return MISSING;
    if (checkKeyFormat(presented, this.config.prefix) !== undefined) return MALFORMED;
    const keyHash = this.config.hasher(presented as string);
    const now = this.config.clock.now();
    const entry = this.lru.get(keyHash);
    if (entry !== undefined && now - entry.loadedAt < this.config.maxAge && entry.epoch >= this.resetEpoch) {
      return this.decide(entry, now, context);
    }
    const negativeUntil = this.negative.get(keyHash);
    if (negativeUntil !== undefined && now < negativeUntil) return this.unknown(keyHash, now, context);
    return this.miss(keyHash, now, context, entry);
  }

  /** Drops one key from this process's caches (after a local change or a bus message). */
  invalidate(keyHash: string): void {
    this.invalidatedAt.set(keyHash, ++this.epoch);
    this.lru.delete(keyHash);
    this.negative.delete(keyHash);
    this.inflight.delete(keyHash);
  }

  /**
   * The bus lost messages, so any entry may be stale: every entry must be
   * re-confirmed by the shared cache or store before it is trusted again. An
   * unconfirmed entry is still used (until its max age) when neither can be
   * reached, so a Redis outage does not turn cached keys into 503s. Entries
   * dropped by `invalidate` are gone for good.
   */
  clear(): void {
    this.resetEpoch = ++this.epoch;
    this.negative.clear();
    this.inflight.clear();
  }

  get size(): number {
    return this.lru.size;
  }

  private decide(entry: Entry, now: number, context: VerifyContext | undefined): VerifyResult {
    const refusal = refusalAt(entry.key, now);
    if (refusal === undefined) {
      if (now - entry.lastTouch >= this.config.usageResolution) {
        entry.lastTouch = now;
        this.config.usage.record(entry.key.id, now);
      }
      if (entry.key.graceUntil !== null && this.config.events.has('key.used_in_grace')) {
        const { clientId, id, fingerprint } = entry.key;
        this.config.events.emit('key.used_in_grace', {
          at: now,
          clientId,
          keyId: id,
          fingerprint,
          graceUntil: entry.key.graceUntil,
          context,
        });
      }
      return entry.valid;
    }
    let refused = entry.refused;
    if (refused === undefined || refused.reason !== refusal) entry.refused = refused = refusedResult(entry.key, refusal);
    this.rejected(refused, now, context);
    return refused;
  }

  private unknown(keyHash: string, now: number, context: VerifyContext | undefined): VerifyResult {
    const result = unknownResult(fingerprintOf(keyHash));
    this.rejected(result, now, context);
    return result;
  }

  private rejected(result: InvalidKey, now: number, context: VerifyContext | undefined): void {
    if (!this.config.events.has('key.rejected')) return;
    this.config.events.emit('key.rejected', {
      at: now,
      reason: result.reason as 'unknown' | 'expired' | 'inactive' | 'revoked',
      fingerprint: result.fingerprint as string,
      clientId: result.clientId,
      keyId: result.keyId,
      context,
    });
  }

  private async miss(keyHash: string, now: number, context: VerifyContext | undefined, stale: Entry | undefined): Promise<VerifyResult> {
    let key: LiveKey | null;
    try {
      key = await this.load(keyHash);
    } catch {
      // Nothing reachable: an entry within its max age (unconfirmed since a bus
      // reset) still decides; anything else fails closed.
      if (stale !== undefined && now - stale.loadedAt < this.config.maxAge && this.lru.get(keyHash) === stale) {
        return this.decide(stale, now, context);
      }
      return UNAVAILABLE;
    }
    if (key === null) return this.unknown(keyHash, now, context);
    const cached = this.lru.get(keyHash);
    const entry = cached !== undefined && cached.key === key ? cached : this.entryFor(key, now);
    return this.decide(entry, now, context);
  }

  /** Concurrent misses for one hash share one lookup. */
  private load(keyHash: string): Promise<LiveKey | null> {
    let pending = this.inflight.get(keyHash);
    if (pending === undefined) {
      const startEpoch = this.epoch;
      pending = this.lookup(keyHash, startEpoch);
      this.inflight.set(keyHash, pending);
      const done = () => {
        if (this.inflight.get(keyHash) === pending) this.inflight.delete(keyHash);
      };
      pending.then(done, done);
    }
    return pending;
  }

  private async lookup(keyHash: string, startEpoch: number): Promise<LiveKey | null> {
    const { cache, store, logger } = this.config;
    let cacheFailed = false;
    if (cache !== undefined) {
      try {
        const cached = await cache.get(keyHash);
        if (cached !== null) {
          this.remember(keyHash, cached, startEpoch);
          return cached;
        }
      } catch (error) {
        cacheFailed = true;
        logger.warn(
          { ...errorFields(error), fingerprint: fingerprintOf(keyHash) },
          'keyward: shared cache lookup failed; asking the store',
        );
      }
    }
    let record: Awaited<ReturnType<KeyStore['findKeyByHash']>>;
    try {
      record = await store.findKeyByHash(keyHash);
    } catch (error) {
      logger.error(
        { ...errorFields(error), fingerprint: fingerprintOf(keyHash), cacheFailed },
        'keyward: key store lookup failed; answering unavailable',
      );
      throw error;
    }
    if (record === null) {
      if (this.mayFill(keyHash, startEpoch)) this.negative.set(keyHash, this.config.clock.now() + this.config.negativeTtl);
      return null;
    }
    const key = toLiveKey(record);
    this.remember(keyHash, key, startEpoch);
    if (cache !== undefined && !cacheFailed) {
      cache.fill(key).catch((error: unknown) => {
        logger.warn({ ...errorFields(error), fingerprint: key.fingerprint }, 'keyward: shared cache fill failed');
      });
    }
    return key;
  }

  private mayFill(keyHash: string, startEpoch: number): boolean {
    return startEpoch >= this.resetEpoch && (this.invalidatedAt.get(keyHash) ?? -1) <= startEpoch;
  }

  private remember(keyHash: string, key: LiveKey, startEpoch: number): void {
    if (!this.mayFill(keyHash, startEpoch)) return;
    const current = this.lru.get(keyHash);
    if (current !== undefined && current.key.version > key.version) return;
    this.lru.set(keyHash, this.entryFor(key, this.config.clock.now()));
  }

  private entryFor(key: LiveKey, now: number): Entry {
    return { key, loadedAt: now, epoch: this.epoch, valid: validResult(key), refused: undefined, lastTouch: Number.NEGATIVE_INFINITY };
  }
}
