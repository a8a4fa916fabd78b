import { type Clock, systemClock } from './clock.js';
import { type Duration, formatDuration, parseDuration } from './duration.js';
import { invalidOption } from './errors.js';
import type { InvalidationBus, SharedKeyCache } from './key-cache.js';
import { isValidPrefix } from './key-format.js';
import type { KeyStore } from './key-store.js';
import { type Logger, silentLogger } from './logger.js';
import { MemoryStore } from './memory-store.js';

export interface KeywardOptions {
  /** Durable source of truth. Default: a new `MemoryStore` (nothing survives a restart). */
  store?: KeyStore;
  /** Shared cache of live keys between processes (e.g. `RedisKeyCache`). Default: none. */
  cache?: SharedKeyCache;
  /**
   * How long a lookup waits for the shared cache before it asks the store as well: a frozen
   * or overloaded Redis then costs a lookup this long, not Redis's own command timeout (its
   * answer is still used if the store cannot be reached). Default `50ms`.
   */
  cacheTimeout?: Duration;
  /** Tells other processes a key changed (Redis pub/sub, PostgreSQL NOTIFY, SQLite change log). Default: none. */
  bus?: InvalidationBus;
  /** Key prefix, e.g. `sk_live` (lowercase letters and digits, `_`-separated words). Default `sk_live`. */
  prefix?: string;
  /** Server-side secret: keys are stored as HMAC-SHA256 instead of SHA-256. Default: none. */
  pepper?: string | Uint8Array;
  /** Source of time. Default: the system clock. */
  clock?: Clock;
  /** A pino logger (or anything with pino's `(obj, msg)` methods). Default: silent. */
  logger?: Logger;
  /** How long the old key keeps working after a rotation; shorter than `keyLifetime`, at most 36500d. Default `48h`. */
  grace?: Duration;
  /**
   * With `graceFrom: 'first-use'`, the longest an old key waits for its successor's first
   * use (counted from the rotation) before its grace ends anyway. At least `grace`, shorter
   * than `keyLifetime`. Default `7d`, or half of `keyLifetime` when that is shorter.
   */
  maxWait?: Duration;
  /**
   * What starts the old key's grace when a client rotates its own key
   * (`POST /api-keys/rotate`). Default `'first-use'`: a consumer whose response was lost,
   * or whose replicas pick the key up late, keeps its old key until it really switches.
   */
  selfServiceGraceFrom?: 'rotation' | 'first-use';
  /** Lifetime of a new key (at most 36500d, see `MAX_DURATION_MS`); `null` for keys that never expire. Default `30d`. */
  keyLifetime?: Duration | null;
  /** How long revoked and inactive keys are kept before purge deletes them (audit is kept). Default `30d`. */
  retention?: Duration;
  /**
   * Send `Sunset: <expiresAt>` on an active key's responses once its expiry is this
   * close, so a client can rotate (`POST /api-keys/rotate`) before anyone runs a job.
   * Typically the last expiry-notice lead time (e.g. `1d`). Default: off.
   */
  sunsetBeforeExpiry?: Duration | false;
  /**
   * How long after a revoke an operator may undo it (`unrevoke`): a revoke made by
   * mistake need not break a client that cannot get a new key quickly. `0` disables
   * it. Never for a key revoked as leaked or compromised. Default `60m`.
   */
  unrevokeWindow?: Duration;
  /** In-process cache sizing and freshness. */
  lru?: {
    /** Live keys held per process. Default 10000. */
    max?: number;
    /** An entry older than this is re-read from the shared cache or store. Default `60s`. */
    maxAge?: Duration;
    /** Unknown-key hashes remembered per process. Default 10000. */
    negativeMax?: number;
    /** How long an unknown hash is remembered. Default `5s`. */
    negativeTtl?: Duration;
    /**
     * Remember, per open connection, the last key presented on it, so the next
     * request on that keep-alive connection with the same key skips the checksum,
     * the hash and the LRU lookup (compared in constant time; decided exactly as an
     * LRU hit). The key stays in this process's memory while the connection lives
     * and is never written anywhere. Default `true`; `false` hashes every request.
     */
    perConnection?: boolean;
  };
  /**
   * Following the store's change log, so that every process hears of every key change
   * within about one `interval` while the store is reachable, whoever made it and
   * whatever the bus (Redis) does. Used when the store keeps a change log (every store
   * keyward ships does).
   */
  changes?: {
    /** How often the log is read (also at once on every bus message). `false` to not follow it. Default `500ms`. */
    interval?: Duration | false;
    /**
     * How far back a starting process replays the log to learn which shared-cache
     * entries are older than the store. At least the shared cache's entry TTL
     * (`RedisKeyCache` `ttl`, default `5m`). Default `15m`.
     */
    replayWindow?: Duration;
    /** Changes older than this are trimmed from the log (each process trims once a minute). At least `replayWindow`. Default `1h`. */
    retention?: Duration;
  };
  /**
   * The known-keys filter: each process keeps a Bloom filter of every key hash in the
   * store, built at start and kept current from the change log, so that a key no one
   * was issued is refused without a store or Redis lookup (a flood of well-formed
   * made-up keys costs the store nothing). Used when the change log is followed and the
   * store can list its hashes (every store keyward ships can).
   */
  knownKeys?: {
    /** `false` looks every unknown key up, as before. Default `true`. */
    filter?: boolean;
    /**
     * Keys the filter rules out that are still checked against the store, per second per
     * process: a key issued in another process a moment ago, before the change log
     * brought it here. Halves each second of a flood (down to 0), back to full when the
     * flood ends. `0`: a new key from elsewhere waits for the change log. Default 20.
     */
    lookupsPerSecond?: number;
    /** Filter bits per key (8–64): more bits, fewer false positives. Default 16 (4 MiB at a million keys). */
    bitsPerKey?: number;
  };
  /**
   * Per-key request counts in hourly buckets, split valid / in grace: what the operator
   * console's rotation progress shows. Counted in memory and written with the
   * `lastUsed.flushInterval`, never per request. `false`: nothing is counted. Default
   * on (when the store keeps them, as every store keyward ships does), kept `90d`.
   */
  usageCounts?: false | { retention?: Duration };
  /** `last_used_at` bookkeeping. */
  lastUsed?: {
    /** How often collected uses are written to the store. Default `30s`. */
    flushInterval?: Duration;
    /** Uses of one key closer together than this are recorded once. Default `60s`. */
    resolution?: Duration;
  };
}

/** Options after validation: what the rest of the core reads. */
export interface KeywardConfig {
  store: KeyStore;
  ownsStore: boolean;
  cache: SharedKeyCache | undefined;
  cacheTimeoutMs: number;
  bus: InvalidationBus | undefined;
  prefix: string;
  pepper: string | Uint8Array | undefined;
  clock: Clock;
  logger: Logger;
  graceMs: number;
  maxWaitMs: number;
  selfServiceGraceFrom: 'rotation' | 'first-use';
  keyLifetimeMs: number | null;
  retentionMs: number;
  unrevokeWindowMs: number;
  /** `0`: no `Sunset` for keys near expiry. */
  sunsetBeforeExpiryMs: number;
  lruMax: number;
  maxAgeMs: number;
  negativeMax: number;
  negativeTtlMs: number;
  perConnection: boolean;
  /** `null`: the change log is not followed. */
  changesIntervalMs: number | null;
  replayWindowMs: number;
  changeRetentionMs: number;
  usageFlushMs: number;
  usageResolutionMs: number;
  /** `null`: usage is not counted. */
  usageCounts: { retentionMs: number } | null;
  /** `null`: no known-keys filter. */
  knownKeys: { lookupsPerSecond: number; bitsPerKey: number } | null;
}

function positiveInt(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw invalidOption(option, value, 'must be a positive integer');
  return value;
}

function booleanOption(value: unknown, option: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidOption(option, value, 'must be a boolean');
  return value;
}

function hasMethods(value: unknown, methods: readonly string[]): boolean {
  return typeof value === 'object' && value !== null && methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function');
}

const SEVEN_DAYS_MS = 7 * 86_400_000;

/** Turns the public options into the internal config. Never mutates `options`; throws on any bad value. */
export function resolveOptions(options: KeywardOptions = {}): KeywardConfig {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', options, 'must be an object');
  const { store, cache, bus, clock, logger, pepper } = options;
  if (store !== undefined && !hasMethods(store, ['findKeyByHash', 'commit', 'listKeys'])) {
    throw invalidOption('store', store, 'must implement KeyStore');
  }
  if (cache !== undefined && !hasMethods(cache, ['get', 'fill', 'write']))
    throw invalidOption('cache', cache, 'must implement SharedKeyCache');
  if (bus !== undefined && !hasMethods(bus, ['publish', 'subscribe'])) throw invalidOption('bus', bus, 'must implement InvalidationBus');
  if (clock !== undefined && !hasMethods(clock, ['now'])) throw invalidOption('clock', clock, 'must have a now() method');
  if (logger !== undefined && !hasMethods(logger, ['debug', 'info', 'warn', 'error'])) {
    throw invalidOption('logger', logger, 'must have debug/info/warn/error methods (a pino logger)');
  }
  const prefix = options.prefix ?? 'sk_live';
  if (!isValidPrefix(prefix)) {
    throw invalidOption('prefix', prefix, 'must be lowercase letters and digits in _-separated words, at most 32 chars');
  }
  if (pepper !== undefined && !((typeof pepper === 'string' || pepper instanceof Uint8Array) && pepper.length >= 16)) {
    throw invalidOption('pepper', typeof pepper === 'string' ? '(hidden)' : pepper, 'must be a string or bytes of at least 16');
  }
  const graceMs = parseDuration(options.grace ?? '48h', 'grace');
  const keyLifetimeMs = options.keyLifetime === null ? null : parseDuration(options.keyLifetime ?? '30d', 'keyLifetime');
  if (keyLifetimeMs !== null && graceMs >= keyLifetimeMs) {
    throw invalidOption(
      'grace',
      options.grace ?? '48h',
      `must be shorter than keyLifetime (${formatDuration(keyLifetimeMs)}): a rotated client would be left with no valid key`,
    );
  }
  // The default fits short key lifetimes too: 7d, or half the key's life (at least the grace).
  const maxWaitMs =
    options.maxWait === undefined
      ? Math.min(SEVEN_DAYS_MS, keyLifetimeMs === null ? SEVEN_DAYS_MS : Math.max(graceMs, Math.floor(keyLifetimeMs / 2)))
      : parseDuration(options.maxWait, 'maxWait');
  if (maxWaitMs < graceMs) throw invalidOption('maxWait', options.maxWait, `must be at least grace (${formatDuration(graceMs)})`);
  if (keyLifetimeMs !== null && maxWaitMs >= keyLifetimeMs)
    throw invalidOption('maxWait', options.maxWait, `must be shorter than keyLifetime (${formatDuration(keyLifetimeMs)})`);
  const selfServiceGraceFrom = options.selfServiceGraceFrom ?? 'first-use';
  if (selfServiceGraceFrom !== 'rotation' && selfServiceGraceFrom !== 'first-use')
    throw invalidOption('selfServiceGraceFrom', selfServiceGraceFrom, 'must be "rotation" or "first-use"');
  const lru = options.lru ?? {};
  const lastUsed = options.lastUsed ?? {};
  const changes = options.changes ?? {};
  if (typeof changes !== 'object' || changes === null) throw invalidOption('changes', changes, 'must be an object');
  const changesIntervalMs = changes.interval === false ? null : parseDuration(changes.interval ?? '500ms', 'changes.interval');
  if (changesIntervalMs !== null && (changesIntervalMs < 10 || changesIntervalMs > 60_000))
    throw invalidOption('changes.interval', changes.interval, 'must be from 10ms to 1m, or false');
  const replayWindowMs = parseDuration(changes.replayWindow ?? '15m', 'changes.replayWindow');
  const changeRetentionMs = parseDuration(changes.retention ?? '1h', 'changes.retention');
  if (changeRetentionMs < replayWindowMs)
    throw invalidOption('changes.retention', changes.retention, `must be at least changes.replayWindow (${replayWindowMs} ms)`);
  const knownKeys = options.knownKeys ?? {};
  if (typeof knownKeys !== 'object' || knownKeys === null) throw invalidOption('knownKeys', knownKeys, 'must be an object');
  const lookupsPerSecond = knownKeys.lookupsPerSecond ?? 20;
  if (typeof lookupsPerSecond !== 'number' || !Number.isInteger(lookupsPerSecond) || lookupsPerSecond < 0 || lookupsPerSecond > 100_000)
    throw invalidOption('knownKeys.lookupsPerSecond', lookupsPerSecond, 'must be an integer from 0 to 100000');
  const bitsPerKey = knownKeys.bitsPerKey ?? 16;
  if (typeof bitsPerKey !== 'number' || !Number.isInteger(bitsPerKey) || bitsPerKey < 8 || bitsPerKey > 64)
    throw invalidOption('knownKeys.bitsPerKey', bitsPerKey, 'must be an integer from 8 to 64');
  const useFilter = booleanOption(knownKeys.filter, 'knownKeys.filter', true);
  return {
    store: store ?? new MemoryStore(),
    ownsStore: store === undefined,
    cache,
    cacheTimeoutMs: parseDuration(options.cacheTimeout ?? '50ms', 'cacheTimeout'),
    bus,
    prefix,
    pepper,
    clock: clock ?? systemClock,
    logger: logger ?? silentLogger,
    graceMs,
    maxWaitMs,
    selfServiceGraceFrom,
    keyLifetimeMs,
    retentionMs: parseDuration(options.retention ?? '30d', 'retention'),
    unrevokeWindowMs: parseDuration(options.unrevokeWindow ?? '60m', 'unrevokeWindow'),
    sunsetBeforeExpiryMs:
      options.sunsetBeforeExpiry === undefined || options.sunsetBeforeExpiry === false
        ? 0
        : parseDuration(options.sunsetBeforeExpiry, 'sunsetBeforeExpiry'),
    lruMax: positiveInt(lru.max, 'lru.max', 10_000),
    maxAgeMs: parseDuration(lru.maxAge ?? '60s', 'lru.maxAge'),
    negativeMax: positiveInt(lru.negativeMax, 'lru.negativeMax', 10_000),
    negativeTtlMs: parseDuration(lru.negativeTtl ?? '5s', 'lru.negativeTtl'),
    perConnection: booleanOption(lru.perConnection, 'lru.perConnection', true),
    changesIntervalMs,
    replayWindowMs,
    changeRetentionMs,
    usageFlushMs: parseDuration(lastUsed.flushInterval ?? '30s', 'lastUsed.flushInterval'),
    usageResolutionMs: parseDuration(lastUsed.resolution ?? '60s', 'lastUsed.resolution'),
    usageCounts: resolveUsageCounts(options.usageCounts),
    knownKeys: useFilter ? { lookupsPerSecond, bitsPerKey } : null,
  };
}

function resolveUsageCounts(option: KeywardOptions['usageCounts']): { retentionMs: number } | null {
  if (option === false) return null;
  if (option !== undefined && (typeof option !== 'object' || option === null)) {
    throw invalidOption('usageCounts', option, 'must be false or { retention }');
  }
  const retentionMs = parseDuration(option?.retention ?? '90d', 'usageCounts.retention');
  if (retentionMs < 3_600_000) throw invalidOption('usageCounts.retention', option?.retention, 'must be at least 1h');
  return { retentionMs };
}
