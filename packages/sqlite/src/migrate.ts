import { type Logger, silentLogger } from '@keyward/core';
import { unavailable } from './errors.js';
import type { SqliteDatabase } from './options.js';
import { KEYWARD_TABLES, MIGRATIONS, SCHEMA_VERSION } from './schema.js';

export interface MigrateResult {
  /** Schema version found. `0` for a database keyward never touched. */
  readonly from: number;
  /** Schema version now (always `SCHEMA_VERSION` on success). */
  readonly to: number;
  /** Versions applied by this call (empty when already up to date). */
  readonly applied: readonly number[];
}

const LEDGER = 'keyward_migrations';

function tableExists(db: SqliteDatabase, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/** The schema version recorded in the database; `0` when keyward has not migrated it yet. */
export function schemaVersion(db: SqliteDatabase): number {
  if (!tableExists(db, LEDGER)) return 0;
  const row = db.prepare(`SELECT max(version) AS version FROM ${LEDGER}`).get() as { version: number | null };
  return row.version ?? 0;
}

function refuseNewer(version: number, path: string): never {
  throw unavailable(
    `database ${JSON.stringify(path)} has schema version ${version}, newer than this @keyward/sqlite supports (${SCHEMA_VERSION}); ` +
      'upgrade @keyward/sqlite instead of running old code against it',
    { path, schemaVersion: version, supportedVersion: SCHEMA_VERSION },
  );
}

function refuseForeign(db: SqliteDatabase, path: string): void {
  const found = KEYWARD_TABLES.filter((t) => tableExists(db, t));
  if (found.length > 0) {
    throw unavailable(
      `database ${JSON.stringify(path)} is not a keyward database: it already has table(s) ${found.map((t) => `"${t}"`).join(', ')} ` +
        `but no ${LEDGER} table; use another file`,
      { path, tables: found },
    );
  }
}

/**
 * Brings the schema to `SCHEMA_VERSION`: applies every missing step, in order, in
 * one `BEGIN IMMEDIATE` transaction (so several processes starting at once apply
 * each step exactly once). Idempotent: an up-to-date database is only read.
 * Refuses a database with a newer schema, or one holding keyward's table names
 * without keyward's migration ledger.
 */
export function migrateDatabase(db: SqliteDatabase, path: string, logger: Logger = silentLogger): MigrateResult {
  const seen = schemaVersion(db);
  if (seen === SCHEMA_VERSION) return { from: seen, to: seen, applied: [] };
  if (seen > SCHEMA_VERSION) refuseNewer(seen, path);
  const run = db.transaction((): MigrateResult => {
    if (!tableExists(db, LEDGER)) {
      refuseForeign(db, path);
      db.exec(`CREATE TABLE ${LEDGER} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
    }
    const from = schemaVersion(db);
    if (from > SCHEMA_VERSION) refuseNewer(from, path);
    const applied: number[] = [];
    const record = db.prepare(`INSERT INTO ${LEDGER} (version, name, applied_at) VALUES (?, ?, ?)`);
    for (const step of MIGRATIONS) {
      if (step.version <= from) continue;
      db.exec(step.sql);
      record.run(step.version, step.name, Date.now());
      applied.push(step.version);
    }
    return { from, to: SCHEMA_VERSION, applied };
  });
  const result = run.immediate();
  if (result.applied.length > 0) {
    logger.info({ path, from: result.from, to: result.to, applied: result.applied }, '@keyward/sqlite: schema migrated');
  }
  return result;
}

/** For `migrate: false`: accepts only a database already at `SCHEMA_VERSION`. */
export function checkSchema(db: SqliteDatabase, path: string): void {
  const version = schemaVersion(db);
  if (version > SCHEMA_VERSION) refuseNewer(version, path);
  if (version < SCHEMA_VERSION) {
    throw unavailable(
      `database ${JSON.stringify(path)} has schema version ${version}, but this @keyward/sqlite needs ${SCHEMA_VERSION}; ` +
        'run migrate() (or construct the store with migrate: true)',
      { path, schemaVersion: version, supportedVersion: SCHEMA_VERSION },
    );
  }
}
