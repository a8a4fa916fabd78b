import { type Duration, type Logger, parseDuration, silentLogger } from '@keyward/core';
import type { Cluster, Redis } from 'ioredis';
import { invalidOption, redactUrl } from './errors.js';

/** An ioredis client: a single node (`Redis`) or a `Cluster`. */
export type RedisClient = Redis | Cluster;

/** Options every `@keyward/redis` class shares. */
export interface CommonRedisOptions {
  /**
   * Prefix of every key and channel name (`<namespace>:key:{<hash>}`, `<namespace>:invalidate`,
   * `<namespace>:lock:{<name>}`). Letters, digits and `:_.-`, at most 64 characters. Default `keyward`.
   */
  namespace?: string;
  /**
   * Longest wait for one Redis call (including waiting for the first connection), as milliseconds
   * or a duration string. A slower call rejects with `KEYWARD_UNAVAILABLE`, so the verifier falls
   * through to the store instead of hanging. Default `500ms`.
   */
  commandTimeout?: Duration;
  /** A pino logger (or anything with pino's `(obj, msg)` methods). Default: silent. */
  logger?: Logger;
}

/**
 * Where to connect: an injected client (never closed by keyward; see the README for the
 * settings it should have) or a URL (keyward creates the client lazily and closes it in `close()`).
 */
export type RedisConnectionOptions = CommonRedisOptions &
  (
    | {
        /** An ioredis `Redis` or `Cluster` you own: keyward uses it and never closes it. */
        client: RedisClient;
        url?: never;
      }
    | {
        client?: never;
        /** `redis://` or `rediss://` URL. Default `process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'`. */
        url?: string;
      }
  );

/** Resolved connection settings. */
export interface ConnectionConfig {
  readonly client: RedisClient | undefined;
  readonly url: string;
  readonly namespace: string;
  readonly commandTimeoutMs: number;
  readonly logger: Logger;
}

const NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9:_.-]{0,63}$/;

/** Checks that a value looks like an ioredis client (duck-typed, so two copies of ioredis both work). */
export function isRedisClient(value: unknown): value is RedisClient {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  return (
    typeof c.status === 'string' &&
    typeof c.isCluster === 'boolean' &&
    ['evalsha', 'eval', 'publish', 'duplicate', 'connect', 'on'].every((m) => typeof c[m] === 'function')
  );
}

/** Validates the shared options. Never mutates `options`; throws naming the option and value. */
export function resolveConnectionOptions(options: RedisConnectionOptions | undefined): ConnectionConfig {
  const opts = options ?? {};
  if (typeof opts !== 'object' || opts === null) throw invalidOption('options', opts, 'must be an object');
  const { client, url, namespace = 'keyward', logger = silentLogger } = opts;
  if (client !== undefined && url !== undefined) throw invalidOption('url', url, 'cannot be combined with "client"; pass one of them');
  if (client !== undefined && !isRedisClient(client)) throw invalidOption('client', client, 'must be an ioredis Redis or Cluster instance');
  const resolvedUrl = url ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (client === undefined) checkUrl(resolvedUrl);
  if (typeof namespace !== 'string' || !NAMESPACE.test(namespace)) {
    throw invalidOption('namespace', namespace, 'must be 1-64 letters, digits or ":_.-" (no braces or spaces)');
  }
  if (
    typeof logger !== 'object' ||
    logger === null ||
    !['debug', 'info', 'warn', 'error'].every((m) => typeof (logger as unknown as Record<string, unknown>)[m] === 'function')
  ) {
    throw invalidOption('logger', logger, 'must have debug/info/warn/error methods (a pino logger)');
  }
  return {
    client,
    url: resolvedUrl,
    namespace,
    commandTimeoutMs: durationOption(opts.commandTimeout, 'commandTimeout', 500, 1, 60_000),
    logger,
  };
}

function checkUrl(url: unknown): void {
  if (typeof url !== 'string') throw invalidOption('url', url, 'must be a redis:// or rediss:// URL string');
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw invalidOption('url', redactUrl(url), 'must be a redis:// or rediss:// URL');
  }
  if (protocol !== 'redis:' && protocol !== 'rediss:') throw invalidOption('url', redactUrl(url), 'must use redis:// or rediss://');
}

/** Parses a duration option and checks its range, with a `@keyward/redis` error. */
export function durationOption(value: unknown, option: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  let ms: number;
  try {
    ms = parseDuration(value, option);
  } catch {
    throw invalidOption(option, value, 'must be a duration like 500ms, 5m, 1h or a number of milliseconds');
  }
  if (ms < min || ms > max) throw invalidOption(option, value, `must be between ${min} ms and ${max} ms`);
  return ms;
}
