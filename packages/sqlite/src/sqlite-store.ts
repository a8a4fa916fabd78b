import type {
  AuditPageQuery,
  AuditQuery,
  AuditRecord,
  AuditScanRow,
  ChangeLogPage,
  ChangeLogQuery,
  ClientPage,
  ClientQuery,
  ConsoleQueries,
  KeyQuery,
  KeyRecord,
  KeyStatus,
  KeyStore,
  Logger,
  RotationPageQuery,
  RotationQuery,
  RotationRecord,
  UsageBucket,
  UsageQuery,
  WriteBatch,
} from '@keyward/core';
import { silentLogger } from '@keyward/core';
import type { Transaction } from 'better-sqlite3';
import { readChangeLog, trimChanges } from './change-log.js';
import * as consoleQueries from './console-queries.js';
import { toKeywardError, unavailable } from './errors.js';
import { checkSchema, type MigrateResult, migrateDatabase } from './migrate.js';
import { configureDatabase, databaseLabel, openDatabase, openFailure } from './open-database.js';
import { resolveStoreOptions, type SqliteDatabase, type SqliteStoreConfig, type SqliteStoreOptions } from './options.js';
import * as q from './queries.js';
import { requireDatabaseFile, requireKeywardSchema } from './require-database.js';
import { StatementCache } from './statement-cache.js';
import { applyBatch } from './write-batch.js';

const TOUCH = 'UPDATE keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)';

/** One open connection and the statements and transactions prepared on it. */
interface Connection {
  readonly sql: StatementCache;
  readonly commit: Transaction<(batch: WriteBatch) => void>;
  readonly touch: Transaction<(uses: readonly { readonly id: string; readonly at: number }[]) => void>;
}

/**
 * The embedded default `KeyStore`, on better-sqlite3. One file holds keys,
 * rotations, the hash-chained audit log and the change log that
 * `SqliteChangeFeed` polls. Several processes may share the file (WAL mode, a
 * busy timeout, `BEGIN IMMEDIATE` writes); the one-pending-key and
 * one-open-rotation rules are unique indexes, so they hold across processes.
 *
 * better-sqlite3 is synchronous: every method does its work in one synchronous
 * step and returns a settled promise. Nothing is opened in the constructor; the
 * first call opens, configures and migrates the database (memoised).
 */
export class SqliteStore implements KeyStore, ConsoleQueries {
  private readonly config: SqliteStoreConfig;
  private readonly logger: Logger;
  private readonly label: string;
  private connection: Connection | undefined;
  private opening: Promise<Connection> | undefined;
  private schemaReady = false;
  private closed = false;

  constructor(options?: SqliteStoreOptions | string) {
    this.config = resolveStoreOptions(options);
    this.logger = this.config.logger ?? silentLogger;
    this.label = databaseLabel(this.config.location);
  }

  /** The database file (`':memory:'` for an in-memory database). */
  get filename(): string {
    return this.config.location.filename;
  }

  get memory(): boolean {
    return this.config.location.memory;
  }

  /** Opens, configures and (with `migrate: true`) migrates the database. Every method awaits it; call it to fail fast at start-up. */
  async ready(): Promise<void> {
    await this.connect();
  }

  /** The underlying better-sqlite3 connection, once open (for tools and tests; keyward's tables are its own). */
  async database(): Promise<SqliteDatabase> {
    return (await this.connect()).sql.db;
  }

  /** Applies any missing schema steps now, even when constructed with `migrate: false`. Idempotent. */
  async migrate(): Promise<MigrateResult> {
    const connection = this.connection ?? (await this.openOnce());
    try {
      const result = migrateDatabase(connection.sql.db, this.config.location.filename, this.logger);
      this.schemaReady = true;
      return result;
    } catch (error) {
      throw toKeywardError(error, 'migrate', this.config.location.filename);
    }
  }

  findKeyByHash(keyHash: string): Promise<KeyRecord | null> {
    return this.run('findKeyByHash', (sql) => q.findKeyBy(sql, 'key_hash', keyHash));
  }

  findKeysByHashes(keyHashes: readonly string[]): Promise<KeyRecord[]> {
    return this.run('findKeysByHashes', (sql) => q.findKeysByHashes(sql, keyHashes));
  }

  findKeysByIds(ids: readonly string[]): Promise<KeyRecord[]> {
    return this.run('findKeysByIds', (sql) => q.findKeysByIds(sql, ids));
  }

  findKeyById(id: string): Promise<KeyRecord | null> {
    return this.run('findKeyById', (sql) => q.findKeyBy(sql, 'id', id));
  }

  claimNotice(keyId: string, notice: string, at: number): Promise<boolean> {
    return this.run(
      'claimNotice',
      (sql) =>
        sql.get('INSERT INTO key_notices (key_id, notice, sent_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').run(keyId, notice, at)
          .changes === 1,
    );
  }

  scanKeyHashes(after: string, limit: number): Promise<string[]> {
    return this.run('scanKeyHashes', (sql) => q.scanKeyHashes(sql, after, limit));
  }

  findKeysByFingerprint(prefix: string): Promise<KeyRecord[]> {
    return this.run('findKeysByFingerprint', (sql) => q.findKeysByFingerprint(sql, prefix));
  }

  listKeys(query: KeyQuery): Promise<KeyRecord[]> {
    return this.run('listKeys', (sql) => q.listKeys(sql, query));
  }

  findRotation(id: string): Promise<RotationRecord | null> {
    return this.run('findRotation', (sql) => q.findRotation(sql, id));
  }

  findRotationByIdempotencyKey(clientId: string, idempotencyKey: string): Promise<RotationRecord | null> {
    return this.run('findRotationByIdempotencyKey', (sql) => q.findRotationByIdempotencyKey(sql, clientId, idempotencyKey));
  }

  listRotations(query: RotationQuery): Promise<RotationRecord[]> {
    return this.run('listRotations', (sql) => q.listRotations(sql, query));
  }

  /** One `BEGIN IMMEDIATE` transaction: compare-and-set updates, inserts, audit rows chained; all or nothing. */
  commit(batch: WriteBatch): Promise<void> {
    return this.run('commit', (_sql, connection) => connection.commit.immediate(batch));
  }

  /** One transaction for the whole batch; a time never moves backwards; no version bump. */
  /** The change log the schema's triggers write (see `KeyChangeLog`): every key change, whoever made it. */
  readChanges(query: ChangeLogQuery): Promise<ChangeLogPage> {
    return this.run('readChanges', (sql) => readChangeLog(sql.db, query));
  }

  /** Deletes change rows older than `before` (ms, SQLite's clock); a reader behind them learns of the gap. */
  trimChanges(before: number): Promise<number> {
    return this.run('trimChanges', (sql) => trimChanges(sql.db, before));
  }

  async touchLastUsed(uses: readonly { readonly id: string; readonly at: number }[]): Promise<void> {
    if (uses.length === 0) return;
    await this.run('touchLastUsed', (_sql, connection) => connection.touch.immediate(uses));
  }

  listAudit(query: AuditQuery): Promise<AuditRecord[]> {
    return this.run('listAudit', (sql) => q.listAudit(sql, query));
  }

  scanAuditForVerify(afterSeq: number, limit: number): Promise<AuditScanRow[]> {
    return this.run('scanAuditForVerify', (sql) => q.scanAuditForVerify(sql, afterSeq, limit));
  }

  /** Clients in binary id order, keyset-paged, with their keys by status (see console-queries.ts). */
  listClients(query: ClientQuery): Promise<ClientPage> {
    return this.run('listClients', (sql) => consoleQueries.listClients(sql, query));
  }

  countKeysByStatus(): Promise<Record<KeyStatus, number>> {
    return this.run('countKeysByStatus', (sql) => consoleQueries.countKeysByStatus(sql));
  }

  listAuditPage(query: AuditPageQuery): Promise<AuditRecord[]> {
    return this.run('listAuditPage', (sql) => consoleQueries.listAuditPage(sql, query));
  }

  listRotationsPage(query: RotationPageQuery): Promise<RotationRecord[]> {
    return this.run('listRotationsPage', (sql) => consoleQueries.listRotationsPage(sql, query));
  }

  /** One upsert statement for the whole batch (written off the hot path, like `touchLastUsed`). */
  addUsage(buckets: readonly UsageBucket[]): Promise<void> {
    return this.run('addUsage', (sql) => consoleQueries.addUsage(sql, buckets));
  }

  listUsage(query: UsageQuery): Promise<UsageBucket[]> {
    return this.run('listUsage', (sql) => consoleQueries.listUsage(sql, query));
  }

  trimUsage(before: number): Promise<number> {
    return this.run('trimUsage', (sql) => consoleQueries.trimUsage(sql, before));
  }

  /** Closes the connection if the store opened it (a caller's `database` is left open). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const opened = await this.opening?.catch(() => undefined);
    this.connection = undefined;
    if (opened && this.config.database === undefined) opened.sql.db.close();
  }

  private async run<T>(operation: string, work: (sql: StatementCache, connection: Connection) => T): Promise<T> {
    const connection = this.connection !== undefined && this.schemaReady ? this.connection : await this.connect();
    if (this.closed) throw this.closedError();
    try {
      return work(connection.sql, connection);
    } catch (error) {
      throw toKeywardError(error, operation, this.config.location.filename);
    }
  }

  private closedError() {
    return unavailable(`the store for database ${this.label} is closed`, { path: this.config.location.filename });
  }

  /** The connection with its schema checked (or migrated). A failed check is retried by the next call. */
  private async connect(): Promise<Connection> {
    if (this.connection === undefined && !this.config.create) requireDatabaseFile(this.config.location);
    const connection = this.connection ?? (await this.openOnce());
    if (this.closed) throw this.closedError();
    if (!this.schemaReady) {
      try {
        if (!this.config.create) requireKeywardSchema(connection.sql.db, this.config.location.filename);
        if (this.config.migrate) migrateDatabase(connection.sql.db, this.config.location.filename, this.logger);
        else checkSchema(connection.sql.db, this.config.location.filename);
      } catch (error) {
        throw toKeywardError(error, 'schema check', this.config.location.filename);
      }
      this.schemaReady = true;
    }
    return connection;
  }

  /** Memoised open; a failed attempt is forgotten so a later call retries (e.g. once the directory exists). */
  private openOnce(): Promise<Connection> {
    if (this.closed) return Promise.reject(this.closedError());
    if (this.opening === undefined) {
      const attempt = Promise.resolve().then(() => this.open());
      this.opening = attempt;
      attempt.then(
        (connection) => {
          this.connection = connection;
        },
        () => {
          if (this.opening === attempt) this.opening = undefined;
        },
      );
    }
    return this.opening;
  }

  private open(): Connection {
    const { location, database, busyTimeout } = this.config;
    const options = { location, busyTimeout, logger: this.logger, wal: database === undefined };
    let db: SqliteDatabase;
    if (database === undefined) {
      db = openDatabase(options);
    } else {
      try {
        configureDatabase(database, options);
      } catch (error) {
        throw openFailure(location, error);
      }
      db = database;
    }
    const sql = new StatementCache(db);
    this.logger.debug({ path: location.filename, memory: location.memory }, '@keyward/sqlite: database open');
    return {
      sql,
      commit: db.transaction((batch: WriteBatch) => applyBatch(sql, batch)),
      touch: db.transaction((uses: readonly { readonly id: string; readonly at: number }[]) => {
        const touchOne = sql.get(TOUCH);
        for (const { id, at } of uses) touchOne.run(at, id, at);
      }),
    };
  }
}
