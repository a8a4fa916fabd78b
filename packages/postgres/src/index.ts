export { PostgresAdvisoryLock, type PostgresAdvisoryLockOptions } from './advisory-lock.js';
export type { AppRoleReport, ConnectionPrivileges } from './app-role.js';
export { PostgresChangeFeed, type PostgresChangeFeedOptions } from './change-feed.js';
export type { MigrationReport } from './migrate.js';
export type { ConnectionOptions, PostgresStoreOptions } from './options.js';
export { migrate, PostgresStore } from './postgres-store.js';
export { MIGRATIONS, type Migration, SCHEMA_VERSION } from './schema-sql.js';
export { changeChannel } from './sql.js';
