import { createHash } from 'node:crypto';
import type { AttemptLimiter, Duration } from '@keyward/core';
import { Connection } from './connection.js';
import { invalidOption, unavailable } from './errors.js';
import { LuaScript } from './lua-script.js';
import { type ConnectionConfig, durationOption, type RedisConnectionOptions, resolveConnectionOptions } from './options.js';

/** Counts (reserves) one attempt; the first one of a window sets its expiry. Returns `{count, remaining ms}`. */
const hitScript = new LuaScript(`
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if n == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
`);

/** Gives back one reserved attempt, never below zero, keeping the window's expiry. Returns the count. */
const undoScript = new LuaScript(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n <= 0 then return 0 end
return redis.call('DECR', KEYS[1])
`);

/** `{count, remaining ms}` when the source reached the limit, `{count, 0}` otherwise. */
const checkScript = new LuaScript(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n < tonumber(ARGV[1]) then return {n, 0} end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then return {n, 0} end
return {n, ttl}
`);

/** Options of `RedisAttemptLimiter`: a connection (client or url), namespace, timeout, logger, and the limit. */
export type RedisAttemptLimiterOptions = RedisConnectionOptions & {
  /** Guesses (unknown or malformed keys) one source may make per window; after that it waits for the window to end. Default `10`. */
  max?: number;
  /** Length of the counting window (fixed, from a source's first failure). Default `1m`. */
  window?: Duration;
};

/** Sources that are safe inside a hash tag as they are (IPv4, IPv6, host names); anything else is hashed. */
const PLAIN_SOURCE = /^[A-Za-z0-9.:_-]{1,100}$/;

/**
 * Failed-attempt limiting shared by every process (the `AttemptLimiter` of
 * `@keyward/core`): one counter per source, `<namespace>:attempts:{<source>}`
 * (hash-tagged, so it runs on Redis Cluster). `hit` reserves an attempt before the
 * lookup it pays for: incremented, given its window expiry and decided in one Lua
 * call, so concurrent guesses from one source cost at most `max` lookups across
 * every process; `undo` gives one back (never below zero) when the key turned out
 * known. A Redis outage rejects with `KEYWARD_UNAVAILABLE`; the adapters then
 * count in their process instead (same budget, per process) rather than failing
 * the request or letting guesses through unlimited.
 */
export class RedisAttemptLimiter implements AttemptLimiter {
  readonly namespace: string;
  readonly max: number;
  readonly windowMs: number;
  private readonly config: ConnectionConfig;
  private readonly connection: Connection;

  constructor(options?: RedisAttemptLimiterOptions) {
    this.config = resolveConnectionOptions(options);
    this.namespace = this.config.namespace;
    const max = options?.max ?? 10;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 1_000_000)
      throw invalidOption('max', max, 'must be an integer from 1 to 1000000');
    this.max = max;
    this.windowMs = durationOption(options?.window, 'window', 60_000, 1000, 7 * 86_400_000);
    this.connection = new Connection(this.config, 'attempt limiter');
  }

  /** The Redis key counting `source`'s failures. */
  keyName(source: string): string {
    const tag = PLAIN_SOURCE.test(source) ? source : `h-${createHash('sha256').update(source).digest('hex').slice(0, 32)}`;
    return `${this.namespace}:attempts:{${tag}}`;
  }

  async check(source: string): Promise<number> {
    const reply = await this.connection.run('attempt check', (client) => checkScript.run(client, [this.keyName(source)], [this.max]));
    const [count, ttl] = pair(reply, 'check');
    return count >= this.max && ttl > 0 ? Math.ceil(ttl / 1000) : 0;
  }

  async hit(source: string): Promise<number> {
    const reply = await this.connection.run('attempt hit', (client) => hitScript.run(client, [this.keyName(source)], [this.windowMs]));
    const [count, ttl] = pair(reply, 'hit');
    // The attempt that makes `max` is still within the budget; the next ones wait (at least 1 s, the key may expire meanwhile).
    return count > this.max ? Math.max(1, Math.ceil(ttl / 1000)) : 0;
  }

  async undo(source: string): Promise<void> {
    const reply = await this.connection.run('attempt undo', (client) => undoScript.run(client, [this.keyName(source)], []));
    if (typeof reply !== 'number') throw unavailable('attempt undo: unexpected reply from Redis');
  }

  async reset(source: string): Promise<void> {
    await this.connection.run('attempt reset', (client) => client.del(this.keyName(source)));
  }

  /** Closes the client if keyward created it (from `url`); an injected client is left alone. */
  close(): Promise<void> {
    return this.connection.close();
  }
}

function pair(reply: unknown, what: string): [number, number] {
  if (Array.isArray(reply) && reply.length === 2 && typeof reply[0] === 'number' && typeof reply[1] === 'number')
    return [reply[0], reply[1]];
  throw unavailable(`attempt ${what}: unexpected reply from Redis`);
}
