import { existsSync } from 'node:fs';
import type { DatabaseLocation } from './database-path.js';
import { unavailable } from './errors.js';
import { schemaVersion } from './migrate.js';
import type { SqliteDatabase } from './options.js';

/**
 * For a store built with `create: false`: only `migrate()` creates a database, so a
 * mistyped path fails here instead of silently starting an empty keyward.
 */
function noDatabase(path: string) {
  return unavailable(`no keyward database at ${JSON.stringify(path)}; run keyward migrate`, { path, missing: true });
}

/** Refuses a file that does not exist, before opening it would create it. */
export function requireDatabaseFile(location: DatabaseLocation): void {
  if (!location.memory && !existsSync(location.filename)) throw noDatabase(location.filename);
}

/** Refuses a database keyward never migrated (an empty file, another program's database). */
export function requireKeywardSchema(db: SqliteDatabase, path: string): void {
  if (schemaVersion(db) === 0 && !db.memory) throw noDatabase(path);
}
