import { ErrorCodes, KeywardError, type Logger } from '@keyward/core';
import type { Pool, PoolClient } from 'pg';
import { MIGRATIONS, SCHEMA_VERSION } from './schema-sql.js';
import { advisoryKey, type SchemaNames } from './sql.js';

/** What `migrate()` did. */
export interface MigrationReport {
  /** Schema version before (0 for a new schema). */
  readonly from: number;
  /** Schema version after. */
  readonly to: number;
  /** Versions applied by this call (empty when another process had already done it). */
  readonly applied: readonly number[];
}

type Queryable = Pick<PoolClient, 'query'>;

/** The version recorded in `schema_migrations`, or 0 when the schema or the table does not exist. */
export async function schemaVersion(db: Queryable, n: SchemaNames): Promise<number> {
  const exists = await db.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [n.migrations]);
  if (exists.rows[0]?.t == null) return 0;
  const result = await db.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${n.migrations}`);
  return result.rows[0]?.v ?? 0;
}

/** Thrown for a database migrated by newer code: running on it could corrupt it. */
export function tooNew(n: SchemaNames, found: number): KeywardError {
  return new KeywardError(
    ErrorCodes.UNAVAILABLE,
    `@keyward/postgres: schema "${n.schema}" is at version ${found}, newer than this code supports (${SCHEMA_VERSION}); ` +
      'refusing to use it. Upgrade @keyward/postgres.',
    { schema: n.schema, schemaVersion: found, codeVersion: SCHEMA_VERSION },
  );
}

export function notMigrated(n: SchemaNames, found: number): KeywardError {
  return new KeywardError(
    ErrorCodes.UNAVAILABLE,
    `@keyward/postgres: schema "${n.schema}" is at version ${found}, this code needs ${SCHEMA_VERSION}; ` +
      'run store.migrate() (or construct the store with migrate: true).',
    { schema: n.schema, schemaVersion: found, codeVersion: SCHEMA_VERSION },
  );
}

/** Checks the version without changing anything: the `migrate: false` start. */
export async function checkSchema(pool: Pool, n: SchemaNames): Promise<void> {
  const version = await schemaVersion(pool, n);
  if (version > SCHEMA_VERSION) throw tooNew(n, version);
  if (version < SCHEMA_VERSION) throw notMigrated(n, version);
}

/**
 * Brings the schema up to `SCHEMA_VERSION`: idempotent, and safe when several
 * processes start at once (a transaction-level advisory lock per schema serialises
 * them; the losers find the work done). All pending steps run in one transaction.
 */
export async function runMigrations(pool: Pool, n: SchemaNames, logger: Logger): Promise<MigrationReport> {
  const before = await schemaVersion(pool, n);
  if (before > SCHEMA_VERSION) throw tooNew(n, before);
  if (before === SCHEMA_VERSION) return { from: before, to: before, applied: [] };

  const client = await pool.connect();
  const onError = (error: Error) => logger.warn({ err: { message: error.message } }, 'keyward: connection lost during migration');
  client.on('error', onError);
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    try {
      await client.query(`SELECT pg_advisory_xact_lock(${advisoryKey(1)})`, [`${n.schema}:migrate`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${n.quoted}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${n.migrations} (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const from = await schemaVersion(client, n);
      if (from > SCHEMA_VERSION) throw tooNew(n, from);
      const applied: number[] = [];
      for (const migration of MIGRATIONS) {
        if (migration.version <= from) continue;
        for (const statement of migration.statements(n)) await client.query(statement);
        await client.query(`INSERT INTO ${n.migrations} (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
        applied.push(migration.version);
      }
      await client.query('COMMIT');
      if (applied.length > 0) logger.info({ schema: n.schema, from, to: SCHEMA_VERSION, applied }, 'keyward: migrated PostgreSQL schema');
      return { from, to: SCHEMA_VERSION, applied };
    } catch (error) {
      await client.query('ROLLBACK').catch((e: Error) => {
        broken = e;
      });
      throw error;
    }
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}
