export { SqliteChangeFeed, type SqliteChangeFeedOptions } from './change-feed.js';
export { type DatabaseLocation, resolveDatabasePath } from './database-path.js';
export type { MigrateResult } from './migrate.js';
export { migrate } from './migrate-api.js';
export type { SqliteDatabase, SqliteStoreDatabaseOptions, SqliteStoreOptions, SqliteStorePathOptions } from './options.js';
export { MIGRATIONS, type Migration, SCHEMA_VERSION } from './schema.js';
export { SqliteStore } from './sqlite-store.js';
