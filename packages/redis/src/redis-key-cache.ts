import { type Duration, KEY_STATUSES, type LiveKey, type SharedKeyCache } from '@keyward/core';
import { setEntryScript } from './cache-scripts.js';
import { Connection } from './connection.js';
import { invalidArgument, invalidOption, unavailable } from './errors.js';
import { checkKeyHash, keyNames } from './key-names.js';
import { decodeLiveKey, encodeLiveKey } from './live-key-codec.js';
import { type ConnectionConfig, durationOption, type RedisConnectionOptions, resolveConnectionOptions } from './options.js';

const DAY = 86_400_000;

/** Options of `RedisKeyCache`: a connection (client or url) plus TTLs. */
export type RedisKeyCacheOptions = RedisConnectionOptions & {
  /** Lifetime of an entry for a live (active or pending) key, set when it is first cached and never extended by a read. Default `5m`. */
  ttl?: Duration;
  /**
   * Lifetime of a tombstone (a revoked or inactive entry). Must be at least `ttl`, so a slow
   * reader's stale fill always meets the tombstone. Default: the larger of `ttl` and `15m`.
   */
  tombstoneTtl?: Duration;
};

interface CacheConfig extends ConnectionConfig {
  readonly ttlMs: number;
  readonly tombstoneTtlMs: number;
}

function resolveCacheOptions(options: RedisKeyCacheOptions | undefined): CacheConfig {
  const base = resolveConnectionOptions(options);
  const ttlMs = durationOption(options?.ttl, 'ttl', 5 * 60_000, 1000, 30 * DAY);
  const tombstoneTtlMs = durationOption(options?.tombstoneTtl, 'tombstoneTtl', Math.max(ttlMs, 15 * 60_000), 1000, 30 * DAY);
  if (tombstoneTtlMs < ttlMs) throw invalidOption('tombstoneTtl', options?.tombstoneTtl, `must be at least "ttl" (${ttlMs} ms)`);
  return { ...base, ttlMs, tombstoneTtlMs };
}

function checkLiveKey(key: LiveKey): void {
  if (typeof key !== 'object' || key === null) throw invalidArgument('key', key, 'must be a LiveKey');
  checkKeyHash(key.keyHash);
  if (!Number.isSafeInteger(key.version) || key.version < 0)
    throw invalidArgument('key.version', key.version, 'must be a non-negative integer');
  if (!KEY_STATUSES.includes(key.status)) throw invalidArgument('key.status', key.status, 'must be a key status');
}

/**
 * The shared cache of live keys in Redis (`SharedKeyCache`). One hash per key,
 * `<namespace>:key:{<keyHash>}`, holding the version and the `LiveKey` as JSON. Reads are one
 * HMGET; fills and writes are one Lua script each that compares versions, so a stale reader
 * can never overwrite newer data, and a revoked key's tombstone is never replaced by `active`.
 */
export class RedisKeyCache implements SharedKeyCache {
  readonly namespace: string;
  private readonly config: CacheConfig;
  private readonly connection: Connection;

  constructor(options?: RedisKeyCacheOptions) {
    this.config = resolveCacheOptions(options);
    this.namespace = this.config.namespace;
    this.connection = new Connection(this.config, 'cache');
  }

  /** TTLs in effect, in milliseconds. */
  get ttls(): { readonly ttl: number; readonly tombstoneTtl: number } {
    return { ttl: this.config.ttlMs, tombstoneTtl: this.config.tombstoneTtlMs };
  }

  /** The Redis key holding a hash's entry. */
  entryName(keyHash: string): string {
    return keyNames.entry(this.namespace, checkKeyHash(keyHash));
  }

  /**
   * The cached entry (tombstones included), or `null` on a miss. A corrupt entry is logged and
   * treated as a miss (the verifier then reads the store and its fill repairs the entry).
   * Rejects with `KEYWARD_UNAVAILABLE` when Redis is down or slow.
   */
  async get(keyHash: string): Promise<LiveKey | null> {
    const name = this.entryName(keyHash);
    const reply = await this.connection.run('cache get', (client) =>
      client.hmget(name, 'v', 'd').catch((error: unknown) => {
        if (error instanceof Error && error.message.startsWith('WRONGTYPE')) return 'wrong type' as const;
        throw error;
      }),
    );
    if (reply === 'wrong type') return this.corrupt(keyHash, 'not a hash');
    if (!Array.isArray(reply) || reply.length !== 2 || !reply.every((f) => f === null || typeof f === 'string')) {
      throw unavailable('cache get: unexpected reply to HMGET');
    }
    const [version, data] = reply as [string | null, string | null];
    if (version === null && data === null) return null;
    const decoded = decodeLiveKey(keyHash, version, data);
    if ('key' in decoded) return decoded.key;
    return 'outdated' in decoded ? null : this.corrupt(keyHash, decoded.problem);
  }

  /**
   * Read-through fill after a store lookup: sets the entry only when it is absent, older (by
   * version) or corrupt; never extends an existing entry's TTL.
   */
  async fill(key: LiveKey): Promise<void> {
    await this.set(key, 'fill');
  }

  /**
   * Write-through after a committed change: replaces an absent or older entry and sets its TTL
   * afresh. For a revoked or inactive key this is the tombstone that keeps a slow reader from
   * putting `active` back.
   */
  async write(key: LiveKey): Promise<void> {
    await this.set(key, 'write');
  }

  /** `fill`, resolving `true` when the entry was written and `false` when a newer or equal one was kept. */
  tryFill(key: LiveKey): Promise<boolean> {
    return this.set(key, 'fill');
  }

  /** `write`, resolving `true` when the entry was written and `false` when a newer or equal one was kept. */
  tryWrite(key: LiveKey): Promise<boolean> {
    return this.set(key, 'write');
  }

  /** Closes the client if this cache created it (from `url`); an injected client stays open. */
  close(): Promise<void> {
    return this.connection.close();
  }

  private async set(key: LiveKey, mode: 'fill' | 'write'): Promise<boolean> {
    checkLiveKey(key);
    const name = keyNames.entry(this.namespace, key.keyHash);
    const live = key.status === 'active' || key.status === 'pending';
    const ttl = live ? this.config.ttlMs : this.config.tombstoneTtlMs;
    const args = [key.version, encodeLiveKey(key), ttl, mode];
    const reply = await this.connection.run(`cache ${mode}`, (client) => setEntryScript.run(client, [name], args));
    if (reply !== 0 && reply !== 1) throw unavailable(`cache ${mode}: unexpected reply from the script`);
    return reply === 1;
  }

  private corrupt(keyHash: string, problem: string): null {
    this.config.logger.warn({ fingerprint: keyHash.slice(0, 8), problem }, '@keyward/redis: corrupt cache entry treated as a miss');
    return null;
  }
}
