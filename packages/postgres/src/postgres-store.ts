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
import { isKeywardError } from '@keyward/core';
import type { Pool, QueryResultRow } from 'pg';
import { type AppRoleReport, appRoleGrants, type ConnectionPrivileges, checkRoleName, privilegesSql, roleStatement } from './app-role.js';
import { scanAuditSql } from './audit-scan.js';
import { PostgresChangeFeed, type PostgresChangeFeedOptions } from './change-feed.js';
import { changePageFromRows, readChangesSql, trimChangesSql } from './change-log.js';
import { applyBatch } from './commit.js';
import {
  addUsageSql,
  clientPageFromRows,
  countKeysByStatusSql,
  listAuditPageSql,
  listClientsSql,
  listRotationsPageSql,
  listUsageSql,
  statusCountsFromRows,
  trimUsageSql,
  usageFromRows,
} from './console-queries.js';
import { invalidOption, storeError, type Target, unavailable } from './errors.js';
import { checkSchema, type MigrationReport, runMigrations } from './migrate.js';
import { type PostgresStoreOptions, resolveCommon } from './options.js';
import { createPool } from './pool.js';
import { likePrefix, listAuditSql, listKeysSql, listRotationsSql } from './read-queries.js';
import { requireExistingSchema } from './require-schema.js';
import { auditFromRow, KEY_COLUMNS, keyFromRow, ROTATION_COLUMNS, rotationFromRow } from './rows.js';
import { type SchemaNames, schemaNames } from './sql.js';
import { inTransaction } from './transaction.js';

/** Connections in a pool the store creates itself. */
const OWN_POOL_SIZE = 10;

function isPool(value: unknown): value is Pool {
  const v = value as Partial<Pool> | null;
  return typeof v === 'object' && v !== null && typeof v.connect === 'function' && typeof v.query === 'function';
}

/**
 * The production `KeyStore` on PostgreSQL (`pg`). Every `commit` is one
 * transaction with compare-and-set on `version`; uniqueness rules are database
 * constraints; the audit log is hash-chained and append-only. Setup (connect,
 * migrate or check the schema) runs lazily on first use, once.
 */
export class PostgresStore implements KeyStore, ConsoleQueries {
  /** The schema holding the store's tables. */
  readonly schema: string;
  private readonly names: SchemaNames;
  private readonly pool: Pool;
  private readonly ownsPool: boolean;
  private readonly logger: Logger;
  private readonly target: Target;
  private readonly autoMigrate: boolean;
  private readonly mayCreate: boolean;
  private ready: Promise<void> | undefined;
  private isReady = false;
  private closing: Promise<void> | undefined;

  /** `new PostgresStore(pool)` is short for `new PostgresStore({ pool })`. */
  constructor(options: PostgresStoreOptions | Pool = {}) {
    if (isPool(options)) options = { pool: options };
    const config = resolveCommon(options, 'PostgresStore');
    const migrate = (options as { migrate?: unknown }).migrate;
    if (migrate !== undefined && typeof migrate !== 'boolean') throw invalidOption('migrate', migrate, 'must be a boolean');
    const create = (options as { create?: unknown }).create;
    if (create !== undefined && typeof create !== 'boolean') throw invalidOption('create', create, 'must be a boolean');
    this.mayCreate = create ?? true;
    this.schema = config.schema;
    this.names = schemaNames(config.schema);
    this.logger = config.logger;
    this.target = config.target;
    this.autoMigrate = migrate ?? true;
    this.ownsPool = config.pool === undefined;
    this.pool = config.pool ?? createPool(config.connectionString as string, config.logger, OWN_POOL_SIZE, 'key store');
  }

  /**
   * Runs pending migrations now (idempotent; safe from several processes at once).
   * Use it as a deploy step together with `migrate: false`.
   */
  async migrate(): Promise<MigrationReport> {
    await this.connectCheck();
    try {
      const report = await runMigrations(this.pool, this.names, this.logger);
      this.isReady = true;
      return report;
    } catch (error) {
      throw unavailable('migrating the schema', error, this.target);
    }
  }

  /**
   * Creates (or updates) the application's login role and grants it what the app needs
   * and no more: keys, rotations and the change log read/write, audit rows INSERT and
   * SELECT only. Run as the tables' owner, after `migrate()` (and again after each
   * upgrade: it grants on every table of the schema). The password is sent as SQL text
   * once and never logged. The app then connects as `role`.
   */
  async grantAppRole(role: string, options: { password?: string } = {}): Promise<AppRoleReport> {
    checkRoleName(role);
    const { password } = options;
    if (password !== undefined && (typeof password !== 'string' || password.length < 12 || password.includes('\0'))) {
      throw invalidOption('password', '<hidden>', 'must be a string of at least 12 characters');
    }
    await this.connectCheck();
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const owner = await client.query<{ owner: string | null; me: string }>(
        'SELECT (SELECT pg_get_userbyid(c.relowner) FROM pg_class c WHERE c.oid = to_regclass($1)) AS owner, current_user AS me',
        [this.names.audit],
      );
      const row = owner.rows[0];
      if (!row?.owner)
        throw invalidOption('appRole', role, `needs the schema migrated first (no audit table in "${this.schema}"): run migrate`);
      if (row.owner === role)
        throw invalidOption('appRole', role, 'must not be the owner of the tables (it could disable the audit triggers)');
      const exists = (await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount === 1;
      if (!exists || password !== undefined) await client.query(roleStatement(role, exists, password));
      for (const statement of appRoleGrants(this.names, role)) await client.query(statement);
      await client.query('COMMIT');
      return { role, created: !exists };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (isKeywardError(error)) throw error;
      throw storeError(error, 'granting the app role', this.target);
    } finally {
      client.release();
    }
  }

  /** Who this store connects as, and whether that login could rewrite the audit table (owner, superuser, or granted UPDATE/DELETE/TRUNCATE). */
  async connectionPrivileges(): Promise<ConnectionPrivileges> {
    const [row] = await this.query('connectionPrivileges', privilegesSql(this.names));
    return {
      user: String(row?.user),
      owner: (row?.owner as string | null) ?? null,
      superuser: row?.superuser === true,
      canRewriteAudit: row?.can_rewrite === true,
    };
  }

  /** A change feed (LISTEN/NOTIFY) on this store's pool and schema, to pass to keyward as `bus`. */
  changeFeed(options: Omit<PostgresChangeFeedOptions, 'pool' | 'connectionString' | 'schema'> = {}): PostgresChangeFeed {
    return new PostgresChangeFeed({ logger: this.logger, ...options, pool: this.pool, schema: this.schema });
  }

  async findKeyByHash(keyHash: string): Promise<KeyRecord | null> {
    const rows = await this.query('findKeyByHash', {
      name: `kw_key_hash_${this.schema}`,
      text: `SELECT ${KEY_COLUMNS} FROM ${this.names.keys} WHERE key_hash = $1`,
      values: [keyHash],
    });
    return rows[0] ? keyFromRow(rows[0]) : null;
  }

  /** One query for many hashes (a leak report's tokens). */
  async findKeysByHashes(keyHashes: readonly string[]): Promise<KeyRecord[]> {
    if (keyHashes.length === 0) return [];
    const rows = await this.query('findKeysByHashes', {
      name: `kw_key_hashes_${this.schema}`,
      text: `SELECT ${KEY_COLUMNS} FROM ${this.names.keys} WHERE key_hash = ANY($1::text[])`,
      values: [[...keyHashes]],
    });
    return rows.map(keyFromRow);
  }

  async findKeysByIds(ids: readonly string[]): Promise<KeyRecord[]> {
    if (ids.length === 0) return [];
    const rows = await this.query('findKeysByIds', {
      name: `kw_key_ids_${this.schema}`,
      text: `SELECT ${KEY_COLUMNS} FROM ${this.names.keys} WHERE id = ANY($1::text[])`,
      values: [[...ids]],
    });
    return rows.map(keyFromRow);
  }

  async findKeyById(id: string): Promise<KeyRecord | null> {
    const rows = await this.query('findKeyById', {
      name: `kw_key_id_${this.schema}`,
      text: `SELECT ${KEY_COLUMNS} FROM ${this.names.keys} WHERE id = $1`,
      values: [id],
    });
    return rows[0] ? keyFromRow(rows[0]) : null;
  }

  async claimNotice(keyId: string, notice: string, at: number): Promise<boolean> {
    const rows = await this.query('claimNotice', {
      text: `INSERT INTO ${this.names.notices} (key_id, notice, sent_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING key_id`,
      values: [keyId, notice, at],
    });
    return rows.length === 1;
  }

  async scanKeyHashes(after: string, limit: number): Promise<string[]> {
    // key_hash is UNIQUE: its index gives the order and the start of each page.
    const rows = await this.query('scanKeyHashes', {
      text: `SELECT key_hash FROM ${this.names.keys} WHERE key_hash > $1 ORDER BY key_hash LIMIT $2`,
      values: [after, limit],
    });
    return rows.map((r) => r.key_hash as string);
  }

  async findKeysByFingerprint(prefix: string): Promise<KeyRecord[]> {
    const rows = await this.query('findKeysByFingerprint', {
      // A prefix longer than a fingerprint goes on into the hash (colliding fingerprints).
      text: `SELECT ${KEY_COLUMNS} FROM ${this.names.keys} WHERE fingerprint LIKE $1 AND key_hash LIKE $2 ORDER BY created_at, id`,
      values: [likePrefix(prefix.slice(0, 8)), likePrefix(prefix)],
    });
    return rows.map(keyFromRow);
  }

  async listKeys(query: KeyQuery): Promise<KeyRecord[]> {
    return (await this.query('listKeys', listKeysSql(this.names, query))).map(keyFromRow);
  }

  async findRotation(id: string): Promise<RotationRecord | null> {
    const rows = await this.query('findRotation', {
      text: `SELECT ${ROTATION_COLUMNS} FROM ${this.names.rotations} WHERE id = $1`,
      values: [id],
    });
    return rows[0] ? rotationFromRow(rows[0]) : null;
  }

  async findRotationByIdempotencyKey(clientId: string, idempotencyKey: string): Promise<RotationRecord | null> {
    const rows = await this.query('findRotationByIdempotencyKey', {
      text: `SELECT ${ROTATION_COLUMNS} FROM ${this.names.rotations} WHERE client_id = $1 AND idempotency_key = $2`,
      values: [clientId, idempotencyKey],
    });
    return rows[0] ? rotationFromRow(rows[0]) : null;
  }

  async listRotations(query: RotationQuery): Promise<RotationRecord[]> {
    return (await this.query('listRotations', listRotationsSql(this.names, query))).map(rotationFromRow);
  }

  async listAudit(query: AuditQuery): Promise<AuditRecord[]> {
    return (await this.query('listAudit', listAuditSql(this.names, query))).map(auditFromRow);
  }

  async scanAuditForVerify(afterSeq: number, limit: number): Promise<AuditScanRow[]> {
    if (!this.isReady) await this.init();
    try {
      // The array rows are the scan rows: seq a number, head and tail rendered, data parsed.
      return (await this.pool.query(scanAuditSql(this.names, afterSeq, limit))).rows as unknown as AuditScanRow[];
    } catch (error) {
      throw storeError(error, 'scanAuditForVerify', this.target);
    }
  }

  async commit(batch: WriteBatch): Promise<void> {
    if (!this.isReady) await this.init();
    try {
      await inTransaction(this.pool, this.logger, (client) => applyBatch(client, this.names, batch));
    } catch (error) {
      throw storeError(error, 'commit', this.target);
    }
  }

  /** The change log the schema's triggers write (see `KeyChangeLog`): every key change, whoever made it, in commit order. */
  async readChanges(query: ChangeLogQuery): Promise<ChangeLogPage> {
    // biome-ignore lint/suspicious/noExplicitAny: rows are typed by changePageFromRows
    return changePageFromRows((await this.query('readChanges', readChangesSql(this.names, query))) as any, query);
  }

  /** Deletes change rows older than `before` (ms, the database's clock); a reader behind them learns of the gap. */
  async trimChanges(before: number): Promise<number> {
    const rows = await this.query('trimChanges', trimChangesSql(this.names, before));
    return Number(rows[0]?.deleted ?? 0);
  }

  /** One statement for the whole batch; a time never moves backwards; no version bump. */
  async touchLastUsed(uses: readonly { readonly id: string; readonly at: number }[]): Promise<void> {
    if (uses.length === 0) return;
    await this.query('touchLastUsed', {
      text: `UPDATE ${this.names.keys} AS k SET last_used_at = u.at
             FROM (SELECT id, max(at) AS at FROM unnest($1::text[], $2::bigint[]) AS t(id, at) GROUP BY id) AS u
             WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at < u.at)`,
      values: [uses.map((u) => u.id), uses.map((u) => u.at)],
    });
  }

  /** Clients in binary id order, keyset-paged, with their keys by status (see console-queries.ts for the plans). */
  async listClients(query: ClientQuery): Promise<ClientPage> {
    return clientPageFromRows(await this.query('listClients', listClientsSql(this.names, query)), query.limit);
  }

  async countKeysByStatus(): Promise<Record<KeyStatus, number>> {
    return statusCountsFromRows(await this.query('countKeysByStatus', countKeysByStatusSql(this.names)));
  }

  async listAuditPage(query: AuditPageQuery): Promise<AuditRecord[]> {
    return (await this.query('listAuditPage', listAuditPageSql(this.names, query))).map(auditFromRow);
  }

  async listRotationsPage(query: RotationPageQuery): Promise<RotationRecord[]> {
    return (await this.query('listRotationsPage', listRotationsPageSql(this.names, query))).map(rotationFromRow);
  }

  /** One upsert statement for the whole batch (written off the hot path, like `touchLastUsed`). */
  async addUsage(buckets: readonly UsageBucket[]): Promise<void> {
    if (buckets.length === 0) return;
    await this.query('addUsage', addUsageSql(this.names, buckets));
  }

  async listUsage(query: UsageQuery): Promise<UsageBucket[]> {
    if (query.keyIds.length === 0) return [];
    return usageFromRows(await this.query('listUsage', listUsageSql(this.names, query)));
  }

  async trimUsage(before: number): Promise<number> {
    const rows = await this.query('trimUsage', trimUsageSql(this.names, before));
    return Number(rows[0]?.deleted ?? 0);
  }

  /** Ends the pool if the store created it; a pool passed in is left open. */
  close(): Promise<void> {
    if (this.closing === undefined) this.closing = this.ownsPool ? this.pool.end() : Promise.resolve();
    return this.closing;
  }

  private async query(what: string, config: { name?: string; text: string; values: unknown[] }): Promise<QueryResultRow[]> {
    if (!this.isReady) await this.init();
    try {
      return (await this.pool.query(config)).rows;
    } catch (error) {
      throw storeError(error, what, this.target);
    }
  }

  /** Lazy, memoised setup that every call awaits; a failed attempt is forgotten so the next call retries. */
  private init(): Promise<void> {
    if (this.ready === undefined) {
      const attempt = this.setup();
      this.ready = attempt;
      attempt.then(
        () => {
          this.isReady = true;
        },
        () => {
          if (this.ready === attempt) this.ready = undefined;
        },
      );
    }
    return this.ready;
  }

  private async setup(): Promise<void> {
    await this.connectCheck();
    try {
      if (!this.mayCreate) await requireExistingSchema(this.pool, this.names, this.target);
      if (this.autoMigrate) await runMigrations(this.pool, this.names, this.logger);
      else await checkSchema(this.pool, this.names);
    } catch (error) {
      throw unavailable(this.autoMigrate ? 'migrating the schema' : 'checking the schema', error, this.target);
    }
  }

  private async connectCheck(): Promise<void> {
    try {
      await this.pool.query('SELECT 1');
    } catch (error) {
      throw unavailable('connecting', error, this.target);
    }
  }
}

/**
 * Runs the migrations for `options` once and closes the connection: a deploy step
 * (pair it with `migrate: false` on the stores the application creates).
 */
export async function migrate(options: Omit<PostgresStoreOptions, 'migrate'> = {}): Promise<MigrationReport> {
  const store = new PostgresStore({ ...options, migrate: false } as PostgresStoreOptions);
  try {
    return await store.migrate();
  } finally {
    await store.close();
  }
}
