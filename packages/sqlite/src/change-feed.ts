import {
  type Clock,
  type Duration,
  ErrorCodes,
  type InvalidationBus,
  type InvalidationHandlers,
  KeywardError,
  type Logger,
  parseDuration,
  silentLogger,
  systemClock,
} from '@keyward/core';
import { highWaterMark, readChanges, trimChanges } from './change-log.js';
import { type DatabaseLocation, defaultDatabasePath, resolveDatabasePath } from './database-path.js';
import { invalidOption, PKG } from './errors.js';
import { checkSchema, migrateDatabase } from './migrate.js';
import { openDatabase, openFailure } from './open-database.js';
import { checkLogger, type SqliteDatabase } from './options.js';
import { SqliteStore } from './sqlite-store.js';

export interface SqliteChangeFeedOptions {
  /** The store whose database to watch. Give this or `path`. */
  store?: SqliteStore;
  /** The database file to watch (same spellings and default as `SqliteStore`'s `path`). */
  path?: string;
  /** How often to look for changes made by other processes. Default `200ms`. */
  interval?: Duration;
  /** Change rows older than this are trimmed. Default `1h`. */
  retention?: Duration;
  /** How often this process trims the change log. Default `1m`. */
  trimInterval?: Duration;
  /** Most changes delivered one by one per poll; beyond it subscribers get `reset()`. Default 1000. */
  maxBatch?: number;
  /** A pino logger. Default: silent. */
  logger?: Logger;
  /**
   * Create or upgrade the schema when the feed starts, if the store has not yet
   * (as `SqliteStore`'s `migrate`). With `false` the feed refuses an out-of-date
   * schema instead. Default `true`.
   */
  migrate?: boolean;
  /** Wall clock the trim cut-off is computed from (change rows are stamped by SQLite's clock). Default: system clock. */
  clock?: Clock;
}

function duration(value: Duration | undefined, option: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  let ms: number;
  try {
    ms = parseDuration(value, option);
  } catch (error) {
    throw new KeywardError(ErrorCodes.INVALID_DURATION, `${PKG}: SqliteChangeFeed ${(error as Error).message}`, { option });
  }
  if (ms < min) throw invalidOption(option, value, `must be at least ${min} ms`);
  return ms;
}

/**
 * The invalidation bus for SQLite deployments without Redis: every write to
 * `keys` logs a row in `key_changes` in the same transaction (triggers), and each
 * subscribed process polls `PRAGMA data_version` on its own connection, which
 * changes only when another connection wrote. Only then does it read the new
 * change rows and drop those keys from its LRU. A revocation made by the CLI in
 * another process thus reaches a running API within about one `interval`.
 *
 * `publish()` does nothing: the store already logged the change inside the
 * transaction that made it (so a change can never be committed without its log
 * row, even if the process dies right after), and the publishing process has
 * already dropped the key from its own LRU.
 *
 * Polling never blocks the event loop on another process's write lock (its
 * connection has `busy_timeout = 0`; a busy poll simply retries next time). In
 * WAL mode (the default for files `SqliteStore` opens) reads never wait for writers.
 */
export class SqliteChangeFeed implements InvalidationBus {
  private readonly location: DatabaseLocation;
  private readonly intervalMs: number;
  private readonly retentionMs: number;
  private readonly trimIntervalMs: number;
  private readonly maxBatch: number;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly migrate: boolean;
  private readonly handlers = new Set<InvalidationHandlers>();
  private db: SqliteDatabase | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastSeq = 0;
  private lastDataVersion: unknown;
  private lastTrim = 0;
  private failing = false;

  constructor(options: SqliteChangeFeedOptions = {}) {
    if (typeof options !== 'object' || options === null) throw invalidOption('options', options, 'must be an object');
    const { store, path } = options;
    if (store !== undefined && !(store instanceof SqliteStore)) throw invalidOption('store', store, 'must be a SqliteStore');
    if (store !== undefined && path !== undefined)
      throw invalidOption('path', path, 'cannot be combined with "store" (give one or the other)');
    if (store !== undefined) this.location = { filename: store.filename, memory: store.memory };
    else {
      const source = path === undefined ? defaultDatabasePath() : { value: path, option: 'path' };
      this.location = resolveDatabasePath(source.value, source.option);
    }
    this.intervalMs = duration(options.interval, 'interval', 200, 1);
    this.retentionMs = duration(options.retention, 'retention', 3_600_000, 1000);
    this.trimIntervalMs = duration(options.trimInterval, 'trimInterval', 60_000, 1);
    const { maxBatch } = options;
    if (maxBatch !== undefined && !(Number.isInteger(maxBatch) && maxBatch >= 1))
      throw invalidOption('maxBatch', maxBatch, 'must be a positive integer');
    this.maxBatch = maxBatch ?? 1000;
    this.logger = checkLogger(options.logger) ?? silentLogger;
    if (options.clock !== undefined && typeof options.clock?.now !== 'function')
      throw invalidOption('clock', options.clock, 'must have a now() method');
    this.clock = options.clock ?? systemClock;
    if (options.migrate !== undefined && typeof options.migrate !== 'boolean')
      throw invalidOption('migrate', options.migrate, 'must be a boolean');
    this.migrate = options.migrate ?? true;
  }

  /** A no-op: the store logged the change in the same transaction (see the class comment). */
  async publish(_keyHash: string): Promise<void> {}

  /**
   * Starts polling (on the first subscriber) from the change log's current end,
   * and delivers every later change by another connection to `handlers`. Resolves
   * to an unsubscribe function; the last unsubscribe stops polling and closes the
   * feed's connection. An in-memory database has no other writers: nothing to poll.
   */
  async subscribe(handlers: InvalidationHandlers): Promise<() => Promise<void>> {
    if (typeof handlers?.invalidate !== 'function' || typeof handlers.reset !== 'function') {
      throw invalidOption('handlers', handlers, 'must have invalidate() and reset() methods');
    }
    if (this.location.memory) {
      this.logger.debug({}, `${PKG}: in-memory database; the change feed has nothing to watch`);
      return async () => {};
    }
    // Synchronous up to here: the starting point is taken before the caller's next lookup.
    if (this.db === undefined) this.start();
    this.handlers.add(handlers);
    let subscribed = true;
    return async () => {
      if (!subscribed) return;
      subscribed = false;
      this.handlers.delete(handlers);
      if (this.handlers.size === 0) this.stop();
    };
  }

  /** Stops polling and closes the feed's connection; subscribers get nothing more. */
  async close(): Promise<void> {
    this.handlers.clear();
    this.stop();
  }

  /** Trims change rows older than `retention` now (polling also does this every `trimInterval`). Returns rows deleted. */
  trim(): number {
    if (this.db === undefined) return 0;
    this.lastTrim = this.clock.now();
    return trimChanges(this.db, this.lastTrim - this.retentionMs);
  }

  /** Looks for changes now instead of waiting for the timer. */
  poll(): void {
    const db = this.db;
    if (db === undefined) return;
    try {
      const dataVersion = db.pragma('data_version', { simple: true });
      if (dataVersion !== this.lastDataVersion) {
        const batch = readChanges(db, this.lastSeq, this.maxBatch);
        this.lastSeq = batch.lastSeq;
        this.lastDataVersion = dataVersion;
        if (batch.reset) this.deliver((h) => h.reset());
        for (const hash of batch.hashes) this.deliver((h) => h.invalidate(hash));
      }
      if (this.clock.now() - this.lastTrim >= this.trimIntervalMs) this.trimQuietly();
      if (this.failing) this.logger.info({ path: this.location.filename }, `${PKG}: change feed polling again`);
      this.failing = false;
    } catch (error) {
      if (!this.failing) {
        this.logger.warn(
          { path: this.location.filename, err: { message: (error as Error).message } },
          `${PKG}: change feed poll failed; retrying`,
        );
      }
      this.failing = true;
    }
  }

  private trimQuietly(): void {
    try {
      const deleted = this.trim();
      if (deleted > 0) this.logger.debug({ deleted }, `${PKG}: trimmed the change log`);
    } catch (error) {
      // Busy (another process is writing): try again next trim interval.
      this.logger.debug({ err: { message: (error as Error).message } }, `${PKG}: change log trim skipped`);
    }
  }

  private deliver(call: (handlers: InvalidationHandlers) => void): void {
    for (const handlers of this.handlers) {
      try {
        call(handlers);
      } catch (error) {
        this.logger.error({ err: { message: (error as Error).message } }, `${PKG}: an invalidation handler threw`);
      }
    }
  }

  private start(): void {
    // The journal mode is the store's business (WAL for files it opens); the feed leaves it alone.
    const db = openDatabase({ location: this.location, busyTimeout: 5000, logger: this.logger, wal: false });
    try {
      if (this.migrate) migrateDatabase(db, this.location.filename, this.logger);
      else checkSchema(db, this.location.filename);
      // From here on the feed must never wait for a lock on the event loop.
      db.pragma('busy_timeout = 0');
      this.lastSeq = highWaterMark(db);
      this.lastDataVersion = db.pragma('data_version', { simple: true });
    } catch (error) {
      db.close();
      throw error instanceof KeywardError ? error : openFailure(this.location, error);
    }
    this.db = db;
    this.lastTrim = this.clock.now();
    this.timer = setInterval(() => this.poll(), this.intervalMs);
    this.timer.unref();
    this.logger.debug({ path: this.location.filename, intervalMs: this.intervalMs, fromSeq: this.lastSeq }, `${PKG}: change feed started`);
  }

  private stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.db?.close();
    this.db = undefined;
  }
}
