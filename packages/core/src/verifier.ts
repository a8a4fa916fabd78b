import { LRUCache } from 'lru-cache';
import type { VersionFloor } from './changes/version-floor.js';
import type { Clock } from './clock.js';
import type { KeywardEmitter, VerifyContext } from './events.js';
import type { SharedKeyCache } from './key-cache.js';
import { checkKeyFormat } from './key-format.js';
import type { KeyHasher } from './key-hash.js';
import { fingerprintOf } from './key-hash.js';
import type { KeyStore } from './key-store.js';
import type { KnownKeys } from './known-keys/known-keys.js';
import { refusalAt } from './lifecycle.js';
import type { Logger } from './logger.js';
import type { LiveKey } from './types.js';
import { type AttemptGate, GatedLookups } from './verify/attempt-gate.js';
import { type ConnectionMemo, codesOf, type Entry, sameKey } from './verify/connection-memo.js';
import { SharedLookup } from './verify/shared-lookup.js';
import { snapshotContext } from './verify/snapshot-context.js';
import type { UsageCounts } from './verify/usage-counts.js';
import type { UsageRecorder } from './verify/usage-recorder.js';
import {
  type InvalidKey,
  MALFORMED,
  MISSING,
  nearExpiryResult,
  refusedResult,
  UNAVAILABLE,
  unknownResult,
  type ValidKey,
  type VerifyResult,
  validResult,
} from './verify-result.js';

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
  /** Per-key hourly request counts for the console; absent when off or the store has none. */
  usageCounts?: UsageCounts;
  /** Remember per connection the last key presented on it (see `ConnectionMemo`). */
  perConnection: boolean;
  /** Versions the change log requires of shared-cache entries; absent without a change log. */
  floor?: VersionFloor;
  /** How long a lookup waits for the shared cache before asking the store as well (ms). */
  cacheTimeout: number;
  /** Which key hashes exist (a filter kept from the change log): rules out unknown keys without I/O. */
  knownKeys?: KnownKeys;
  /** `Sunset` on an active key this close to its expiry (ms); `0` for none. */
  sunsetBeforeExpiry?: number;
  /** Told (synchronously, no I/O) of every accepted pending key of a rotation: records its first use in the background. */
  firstUse?: { note(key: LiveKey, at: number): void };
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
  private readonly connections: WeakMap<object, ConnectionMemo> | undefined;
  private readonly gated = new GatedLookups();
  private readonly shared: SharedLookup;

  constructor(private readonly config: VerifierConfig) {
    this.shared = new SharedLookup(config);
    this.lru = new LRUCache({
      max: config.lruMax,
      dispose: (entry) => {
        entry.dropped = true;
      },
    });
    this.connections = config.perConnection ? new WeakMap() : undefined;
    this.negative = new LRUCache({ max: config.negativeMax });
    this.invalidatedAt = new LRUCache({ max: Math.max(1024, config.lruMax) });
  }

  async verify(presented: unknown, context?: VerifyContext, connection?: object): Promise<VerifyResult> {
    return this.verifyFast(presented, context, connection);
  }

  /**
   * The same decision as `verify`, answered synchronously when it needs no I/O
   * (garbage, an LRU hit, a remembered unknown key) and as a promise otherwise, so
   * an adapter's hot path need not pay for a promise per request. `connection` (the
   * request's socket) lets a keep-alive client's repeated key skip the hash.
   * `gate` (the failed-attempt limiter) is asked only for a hash this process does
   * not know, before it is looked up (see `AttemptGate`).
   */
  verifyFast(presented: unknown, context?: VerifyContext, connection?: object, gate?: AttemptGate): VerifyResult | Promise<VerifyResult> {
    if (presented === undefined || presented === null || presented === '') return MISSING;
    // Only an object can key the memo (a WeakMap would throw on anything else): no memo, never an error.
    if (connection !== undefined && (typeof connection !== 'object' || connection === null)) connection = undefined;
    let memo: ConnectionMemo | undefined;
    if (connection !== undefined && this.connections !== undefined && typeof presented === 'string') {
      memo = this.connections.get(connection);
      const repeated = memo === undefined ? undefined : this.fromMemo(memo, presented, 0, context);
      if (repeated !== undefined) return repeated;
    }
    if (checkKeyFormat(presented, this.config.prefix) !== undefined) return MALFORMED;
    const keyHash = this.config.hasher(presented as string);
    const now = this.config.clock.now();
    const entry = this.lru.get(keyHash);
    if (entry !== undefined && this.usable(entry, now)) {
      if (connection !== undefined) this.memorize(connection, memo, presented as string, entry);
      return this.decide(entry, now, context);
    }
    const negativeUntil = this.negative.get(keyHash);
    let remembered = negativeUntil !== undefined && now < negativeUntil;
    const unheld = entry === undefined && !this.invalidatedAt.has(keyHash) && !this.inflight.has(keyHash);
    // The known-keys filter (known-keys/): a hash no key has is unknown without I/O,
    // unless its lookup budget allows a check (a key issued elsewhere, not yet heard).
    let ruledOut = false;
    if (!remembered && unheld && this.config.knownKeys !== undefined) {
      const verdict = this.config.knownKeys.check(keyHash);
      remembered = verdict === 'refuse';
      ruledOut = verdict === 'lookup';
    }
    // The failed-attempt gate (verify/attempt-gate.ts): asked only for a hash this process does not know.
    if (gate !== undefined && unheld) {
      return this.gated.run(
        keyHash,
        gate,
        context,
        () =>
          remembered
            ? this.unknown(keyHash, now, context)
            : this.miss(presented as string, keyHash, now, context, entry, connection, ruledOut),
        () => this.verifyFast(presented, context, connection, gate),
      );
    }
    if (remembered) return this.unknown(keyHash, now, context);
    return this.miss(presented as string, keyHash, now, context, entry, connection, ruledOut);
  }

  /**
   * The per-connection memo alone: the decision when `connection` presented exactly
   * the key `source.slice(offset)` last (compared in place, without the slice) and
   * the entry it resolved to may still decide, else `undefined` (the caller then
   * takes `verifyFast`). Lets an adapter skip its own parsing of a key it has
   * already seen verified on this connection.
   */
  verifyRepeat(source: string, offset: number, context: VerifyContext | undefined, connection: unknown): VerifyResult | undefined {
    if (this.connections === undefined || typeof source !== 'string' || !(offset >= 0)) return undefined;
    if (typeof connection !== 'object' || connection === null) return undefined;
    const memo = this.connections.get(connection);
    return memo === undefined ? undefined : this.fromMemo(memo, source, offset, context);
  }

  /**
   * A memo hit does not refresh the entry's LRU recency (that lookup is what it
   * saves): past `lru.max` live keys, a busy key may be evicted and is then re-read.
   */
  private fromMemo(memo: ConnectionMemo, source: string, offset: number, context: VerifyContext | undefined): VerifyResult | undefined {
    if (!sameKey(memo.codes, source, offset)) return undefined;
    const now = this.config.clock.now();
    return this.usable(memo.entry, now) ? this.decide(memo.entry, now, context) : undefined;
  }

  /** An LRU entry may decide on its own: within max age and confirmed since the last bus reset. */
  private usable(entry: Entry, now: number): boolean {
    return !entry.dropped && now - entry.loadedAt < this.config.maxAge && entry.epoch >= this.resetEpoch;
  }

  private memorize(connection: object, memo: ConnectionMemo | undefined, presented: string, entry: Entry): void {
    if (this.connections === undefined) return;
    if (memo === undefined) {
      this.connections.set(connection, { codes: codesOf(presented), entry });
    } else {
      if (!sameKey(memo.codes, presented, 0)) memo.codes = codesOf(presented);
      memo.entry = entry;
    }
  }

  /**
   * A change the change log reports (its version floor is already raised). An LRU entry
   * older than the change is dropped; one loaded at that version or later (after the
   * commit, as when a starting process replays changes it has already read) is kept, so
   * following the log costs no re-reads. With no entry, only the negative cache is
   * dropped: a lookup in flight is held to the floor when it fills (`remember`).
   */
  applyChange(keyHash: string, version: number, deleted: boolean): void {
    const entry = this.lru.peek(keyHash);
    if (entry === undefined) this.negative.delete(keyHash);
    else if (deleted || entry.key.version < version) this.invalidate(keyHash);
  }

  /**
   * This process committed a change: drop the key, and (with the change log followed)
   * raise its version floor at once, so a shared-cache entry the write-through could not
   * replace is not believed here even before the log is read.
   */
  committed(keyHash: string, status: string, version: number): void {
    this.config.floor?.raise(keyHash, status, version);
    // A key issued here works here at once, whatever the change log's pace.
    if (status !== 'deleted') this.config.knownKeys?.add(keyHash);
    this.invalidate(keyHash);
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

  /** `false` when the known-keys filter rules the hash out (see `KnownKeys.mayExist`): a hint for ordering work, never a refusal. */
  mayExist(keyHash: string): boolean {
    return this.config.knownKeys?.mayExist(keyHash) ?? true;
  }

  get size(): number {
    return this.lru.size;
  }

  private decide(entry: Entry, now: number, context: VerifyContext | undefined): VerifyResult {
    const refusal = refusalAt(entry.key, now);
    if (refusal === undefined) {
      const { usageCounts } = this.config;
      if (usageCounts !== undefined)
        entry.usageCounter = usageCounts.count(entry.usageCounter, entry.key.id, now, entry.key.graceUntil !== null);
      if (now - entry.lastTouch >= this.config.usageResolution) {
        entry.lastTouch = now;
        this.config.usage.record(entry.key.id, now);
      }
      if (entry.key.status === 'pending' && !entry.firstUseNoted && this.config.firstUse !== undefined) {
        entry.firstUseNoted = true;
        this.config.firstUse.note(entry.key, now);
      }
      if (entry.key.switchedAt !== null && now >= entry.key.switchedAt && this.config.events.has('key.used_after_switch')) {
        const { clientId, id, fingerprint, rotationId, switchedAt, graceUntil } = entry.key;
        this.config.events.emit('key.used_after_switch', {
          at: now,
          clientId,
          keyId: id,
          fingerprint,
          rotationId: rotationId as string,
          firstUsedAt: switchedAt,
          graceUntil: graceUntil as number,
          context: snapshotContext(context),
        });
      }
      if (entry.key.graceUntil !== null && this.config.events.has('key.used_in_grace')) {
        const { clientId, id, fingerprint } = entry.key;
        this.config.events.emit('key.used_in_grace', {
          at: now,
          clientId,
          keyId: id,
          fingerprint,
          graceUntil: entry.key.graceUntil,
          context: snapshotContext(context),
        });
      }
      const { sunsetBeforeExpiry } = this.config;
      if (sunsetBeforeExpiry !== undefined && sunsetBeforeExpiry > 0 && entry.key.graceUntil === null) {
        const { expiresAt } = entry.key;
        if (expiresAt !== null && expiresAt - now <= sunsetBeforeExpiry) {
          entry.nearExpiry ??= nearExpiryResult(entry.valid as ValidKey);
          return entry.nearExpiry;
        }
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
      context: snapshotContext(context),
    });
  }

  private async miss(
    presented: string,
    keyHash: string,
    now: number,
    context: VerifyContext | undefined,
    stale: Entry | undefined,
    connection: object | undefined,
    ruledOut = false,
  ): Promise<VerifyResult> {
    let key: LiveKey | null;
    try {
      key = await this.load(keyHash);
      if (ruledOut && key !== null) this.config.knownKeys?.foundRuledOut(keyHash);
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
    if (cached !== undefined && cached.key === key) {
      // Only an entry the LRU holds may be remembered for the connection: it is dropped with it.
      if (connection !== undefined) this.memorize(connection, this.connections?.get(connection), presented, cached);
      return this.decide(cached, now, context);
    }
    return this.decide(this.entryFor(key, now), now, context);
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

  /** The shared cache or the store, behind the LRU; the answer is remembered unless a change overtook it. */
  private async lookup(keyHash: string, startEpoch: number): Promise<LiveKey | null> {
    const key = await this.shared.find(keyHash);
    if (key === null) {
      if (this.mayFill(keyHash, startEpoch)) this.negative.set(keyHash, this.config.clock.now() + this.config.negativeTtl);
      return null;
    }
    this.remember(keyHash, key, startEpoch);
    return key;
  }

  private mayFill(keyHash: string, startEpoch: number): boolean {
    return startEpoch >= this.resetEpoch && (this.invalidatedAt.get(keyHash) ?? -1) <= startEpoch;
  }

  private remember(keyHash: string, key: LiveKey, startEpoch: number): void {
    if (!this.mayFill(keyHash, startEpoch)) return;
    // Read before a change the change log has since reported: not cached.
    if (this.config.floor?.check(keyHash, key.version) === 'stale') return;
    const current = this.lru.get(keyHash);
    if (current !== undefined && current.key.version > key.version) return;
    this.lru.set(keyHash, this.entryFor(key, this.config.clock.now()));
  }

  private entryFor(key: LiveKey, now: number): Entry {
    return {
      key,
      dropped: false,
      loadedAt: now,
      epoch: this.epoch,
      valid: validResult(key),
      refused: undefined,
      lastTouch: Number.NEGATIVE_INFINITY,
      firstUseNoted: false,
    };
  }
}
