import type { Logger } from '@keyward/core';
import type BetterSqlite3 from 'better-sqlite3';
import { type DatabaseLocation, defaultDatabasePath, resolveDatabasePath } from './database-path.js';
import { invalidOption } from './errors.js';

/** A better-sqlite3 connection (`new Database(...)`). */
export type SqliteDatabase = BetterSqlite3.Database;

interface CommonOptions {
  /** A pino logger (or anything with pino's `(obj, msg)` methods). Default: silent. */
  logger?: Logger;
  /**
   * Bring the schema up to date when the store first touches the database. With
   * `false`, the store only checks the version and refuses an out-of-date schema;
   * run `migrate()` yourself (e.g. in a deploy step). Default `true`.
   */
  migrate?: boolean;
  /**
   * Whether the first use may create the database when it is missing (no file, or a
   * file keyward never migrated). With `false` it is refused ("no keyward database
   * at …; run keyward migrate"), so a mistyped path fails instead of starting empty;
   * an existing database is still upgraded when `migrate` is `true`. `migrate()`
   * always creates. Default `true`.
   */
  create?: boolean;
  /**
   * How long (ms) a write waits for another process's write lock before failing
   * with `KEYWARD_UNAVAILABLE` (`PRAGMA busy_timeout`). Default `5000`.
   */
  busyTimeout?: number;
}

export interface SqliteStorePathOptions extends CommonOptions {
  /**
   * The database file: a plain path, a `file:` or `sqlite:` URL (`file:///srv/keys.db`,
   * `sqlite:///srv/keys.db`, `sqlite:./keys.db`), or `':memory:'`. Opened in WAL mode
   * (except in memory), created if missing; its directory must exist.
   * Default: `process.env.KEYWARD_DATABASE_URL`, else `'./keyward.db'`.
   */
  path?: string;
  database?: undefined;
}

export interface SqliteStoreDatabaseOptions extends CommonOptions {
  /**
   * An open better-sqlite3 connection to use instead of opening `path`. The store
   * sets `foreign_keys` (and `busy_timeout` when `busyTimeout` is given) but leaves
   * its journal mode alone, and never closes it.
   */
  database: SqliteDatabase;
  path?: undefined;
}

/** Options of `new SqliteStore(...)`: a `path` to open, or an open `database` (not both). */
export type SqliteStoreOptions = SqliteStorePathOptions | SqliteStoreDatabaseOptions;

/** The options after validation. */
export interface SqliteStoreConfig {
  readonly location: DatabaseLocation;
  /** The caller's connection, when one was given (never closed by the store). */
  readonly database: SqliteDatabase | undefined;
  readonly logger: Logger | undefined;
  readonly migrate: boolean;
  readonly create: boolean;
  /** `undefined` for a caller's connection without an explicit `busyTimeout`: left as configured. */
  readonly busyTimeout: number | undefined;
}

const DATABASE_METHODS = ['prepare', 'pragma', 'transaction', 'exec', 'close'] as const;

function isDatabase(value: unknown): value is SqliteDatabase {
  return (
    typeof value === 'object' &&
    value !== null &&
    DATABASE_METHODS.every((m) => typeof (value as Record<string, unknown>)[m] === 'function')
  );
}

export function checkLogger(logger: unknown): Logger | undefined {
  if (logger === undefined) return undefined;
  const ok =
    typeof logger === 'object' &&
    logger !== null &&
    ['debug', 'info', 'warn', 'error'].every((m) => typeof (logger as Record<string, unknown>)[m] === 'function');
  if (!ok) throw invalidOption('logger', logger, 'must have debug/info/warn/error methods (a pino logger)');
  return logger as Logger;
}

/** Validates the public options into the internal config. Never mutates `options`; throws on any bad value. */
export function resolveStoreOptions(options: SqliteStoreOptions | string = {}, env: NodeJS.ProcessEnv = process.env): SqliteStoreConfig {
  const opts: SqliteStoreOptions = typeof options === 'string' ? { path: options } : options;
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) throw invalidOption('options', opts, 'must be an object');
  const { path, database, migrate, busyTimeout, create } = opts;
  if (create !== undefined && typeof create !== 'boolean') throw invalidOption('create', create, 'must be a boolean');
  const logger = checkLogger(opts.logger);
  if (migrate !== undefined && typeof migrate !== 'boolean') throw invalidOption('migrate', migrate, 'must be a boolean');
  if (
    busyTimeout !== undefined &&
    !(typeof busyTimeout === 'number' && Number.isInteger(busyTimeout) && busyTimeout >= 0 && busyTimeout <= 2_147_483_647)
  ) {
    throw invalidOption('busyTimeout', busyTimeout, 'must be a whole number of milliseconds >= 0');
  }
  if (database !== undefined) {
    if (path !== undefined) throw invalidOption('path', path, 'cannot be combined with "database" (give one or the other)');
    if (!isDatabase(database)) throw invalidOption('database', database, 'must be a better-sqlite3 Database');
    if (!database.open) throw invalidOption('database', 'a closed connection', 'must be an open better-sqlite3 Database');
    const location: DatabaseLocation = database.memory
      ? { filename: ':memory:', memory: true }
      : { filename: database.name, memory: false };
    return { location, database, logger, migrate: migrate ?? true, create: create ?? true, busyTimeout };
  }
  const source = path === undefined ? defaultDatabasePath(env) : { value: path, option: 'path' };
  const location = resolveDatabasePath(source.value, source.option);
  return { location, database: undefined, logger, migrate: migrate ?? true, create: create ?? true, busyTimeout: busyTimeout ?? 5000 };
}
