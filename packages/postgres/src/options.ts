import { userInfo } from 'node:os';
import { type Logger, silentLogger } from '@keyward/core';
import type { Pool } from 'pg';
import { invalidOption, maskUrl, type Target } from './errors.js';

/** Fields shared by the store and the change feed. */
interface CommonOptions {
  /**
   * Schema that holds keyward's tables (created by the migrations). Letters, digits
   * and `_`, starting with a letter or `_`, at most 48 characters, not `pg_…`.
   * Default `keyward`.
   */
  schema?: string;
  /** A pino logger (or anything with pino's `(obj, msg)` methods). Default: silent. */
  logger?: Logger;
}

/** Use a pool you own: keyward never ends it. You handle its `'error'` events. */
interface WithPool {
  /** An existing `pg.Pool`. Mutually exclusive with `connectionString`. */
  pool: Pool;
  connectionString?: never;
}

/** Let keyward create (and later close) its own pool. */
interface WithConnectionString {
  pool?: never;
  /**
   * `postgres://user:password@host:port/database`. Default: `process.env.DATABASE_URL`,
   * else `postgres://127.0.0.1:5432/test`. Without a user name in the URL (and no
   * `PGUSER`/`USER` in the environment), the operating-system user is used, as libpq does.
   */
  connectionString?: string;
}

export type ConnectionOptions = WithPool | WithConnectionString;

export type PostgresStoreOptions = CommonOptions &
  ConnectionOptions & {
    /**
     * Run pending migrations lazily, on the first call that needs the database.
     * With `false`, call `store.migrate()` yourself (a deploy step); the store then only
     * checks that the schema is at the version this code expects. Default `true`.
     */
    migrate?: boolean;
    /**
     * Whether the lazy set-up may create the schema when keyward never migrated it.
     * With `false` a missing schema is refused ("no keyward database at …; run keyward
     * migrate"), so a mistyped schema name fails instead of starting empty; an
     * existing one is still upgraded when `migrate` is `true`. `migrate()` always
     * creates. Default `true`.
     */
    create?: boolean;
  };

export const DEFAULT_URL = 'postgres://127.0.0.1:5432/test';
export const DEFAULT_SCHEMA = 'keyward';
const SCHEMA = /^[A-Za-z_][A-Za-z0-9_]{0,47}$/;

export interface ConnectionConfig {
  /** The caller's pool, or `undefined` when a pool is to be created from `connectionString`. */
  readonly pool: Pool | undefined;
  /** The URL handed to `pg` (user filled in when missing); `undefined` with an injected pool. */
  readonly connectionString: string | undefined;
  readonly target: Target;
}

export interface ResolvedCommon extends ConnectionConfig {
  readonly schema: string;
  readonly logger: Logger;
}

function checkSchema(value: unknown): string {
  if (value === undefined) return DEFAULT_SCHEMA;
  if (typeof value !== 'string' || !SCHEMA.test(value) || value.toLowerCase().startsWith('pg_')) {
    throw invalidOption('schema', value, 'must be 1-48 letters, digits or _ (starting with a letter or _, not pg_)');
  }
  return value;
}

function checkLogger(value: unknown): Logger {
  if (value === undefined) return silentLogger;
  const ok =
    typeof value === 'object' &&
    value !== null &&
    ['debug', 'info', 'warn', 'error'].every((m) => typeof (value as Record<string, unknown>)[m] === 'function');
  if (!ok) throw invalidOption('logger', value, 'must have debug/info/warn/error methods (a pino logger)');
  return value as Logger;
}

function describeUrl(url: URL): string {
  const user = url.username ? `${decodeURIComponent(url.username)}@` : '';
  const host = url.hostname || url.searchParams.get('host') || 'localhost';
  return `${user}${host}:${url.port || '5432'}${url.pathname || '/'}`;
}

/** Validates a connection string; fills in the OS user when the URL and environment name none. */
function parseConnectionString(value: unknown): ConnectionConfig {
  const masked = typeof value === 'string' ? maskUrl(value) : value;
  if (typeof value !== 'string' || value.trim() === '') {
    throw invalidOption('connectionString', masked, 'must be a postgres:// or postgresql:// URL');
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidOption('connectionString', masked, 'is not a valid URL (expected postgres://user:password@host:port/database)');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw invalidOption('connectionString', masked, 'must start with postgres:// or postgresql://');
  }
  if (!url.username && !process.env.PGUSER && !process.env.USER) url.username = encodeURIComponent(userInfo().username);
  const secret = url.password ? decodeURIComponent(url.password) : undefined;
  return { pool: undefined, connectionString: url.href, target: { description: describeUrl(url), secret } };
}

function describePool(pool: Pool): Target {
  const o = (pool.options ?? {}) as { host?: string; port?: number; database?: string; user?: string; connectionString?: string };
  if (o.connectionString) {
    try {
      return { description: describeUrl(new URL(o.connectionString)), secret: undefined };
    } catch {
      // fall through to the discrete fields
    }
  }
  const user = o.user ? `${o.user}@` : '';
  return { description: `${user}${o.host ?? 'localhost'}:${o.port ?? 5432}/${o.database ?? ''}`, secret: undefined };
}

/** Validates the options shared by the store and the feed. Never mutates `options`. */
export function resolveCommon(options: unknown, what: string): ResolvedCommon {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', options, `must be an object (${what} options)`);
  const o = options as Record<string, unknown>;
  const schema = checkSchema(o.schema);
  const logger = checkLogger(o.logger);
  if (o.pool !== undefined) {
    if (o.connectionString !== undefined) {
      throw invalidOption('connectionString', '(set)', 'cannot be combined with "pool": pass one or the other');
    }
    const pool = o.pool as Pool;
    if (typeof pool !== 'object' || pool === null || typeof pool.query !== 'function' || typeof pool.connect !== 'function') {
      throw invalidOption('pool', o.pool, 'must be a pg.Pool');
    }
    return { schema, logger, pool, connectionString: undefined, target: describePool(pool) };
  }
  const url = o.connectionString ?? process.env.DATABASE_URL ?? DEFAULT_URL;
  return { schema, logger, ...parseConnectionString(url) };
}
