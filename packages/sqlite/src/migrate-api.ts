import type { MigrateResult } from './migrate.js';
import type { SqliteStoreOptions } from './options.js';
import { SqliteStore } from './sqlite-store.js';

/**
 * Brings a database's schema up to date and returns what it did, e.g. in a deploy
 * step before starting stores with `migrate: false`. Takes the same options as
 * `SqliteStore` (a path, or an open `database`, which is left open). Idempotent;
 * refuses a database whose schema is newer than this package.
 */
export async function migrate(options?: SqliteStoreOptions | string): Promise<MigrateResult> {
  const opts = typeof options === 'string' ? { path: options } : { ...(options ?? {}) };
  const store = new SqliteStore({ ...opts, migrate: false } as SqliteStoreOptions);
  try {
    return await store.migrate();
  } finally {
    await store.close();
  }
}
