import { ErrorCodes, KeywardError } from '@keyward/core';
import type { Pool } from 'pg';
import type { Target } from './errors.js';
import { schemaVersion } from './migrate.js';
import type { SchemaNames } from './sql.js';

/**
 * For a store built with `create: false`: a schema keyward never migrated (a typo in
 * `KEYWARD_DATABASE_SCHEMA`, a fresh database) is refused instead of created, so a
 * mistyped name cannot silently start an empty keyward. Only `migrate()` creates one.
 */
export async function requireExistingSchema(pool: Pool, n: SchemaNames, target: Target): Promise<void> {
  if ((await schemaVersion(pool, n)) > 0) return;
  throw new KeywardError(
    ErrorCodes.UNAVAILABLE,
    `@keyward/postgres: no keyward database at schema "${n.schema}" of PostgreSQL ${target.description}; run keyward migrate`,
    { schema: n.schema, target: target.description, missing: true },
  );
}
