import type { Keyward } from '@keyward/core';
import { createKeywardFromEnv } from '@keyward/env';

export interface Connection {
  readonly keyward: Keyward;
  /** The environment keyward was built from (flags applied). */
  readonly env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

/**
 * Opens keyward the way the adapters do (`@keyward/env`): `--database` or
 * KEYWARD_DATABASE_URL (SQLite path or postgres:// URL, default ./keyward.db),
 * `--redis` or KEYWARD_REDIS_URL (optional), KEYWARD_PEPPER (optional). Never
 * creates a database: a mistyped `--database` fails with "no keyward database at …;
 * run keyward migrate", and only `keyward migrate` (which calls the store's
 * `migrate()`) creates one.
 */
export async function connect(options: {
  database?: string;
  redis?: string;
  env: NodeJS.ProcessEnv;
  migrate?: boolean;
}): Promise<Connection> {
  const env = resolvedEnv(options);
  const keyward = await createKeywardFromEnv({
    env,
    create: false,
    ...(options.migrate === undefined ? {} : { migrate: options.migrate }),
  });
  return { keyward, env, close: () => keyward.close() };
}

/** The environment with the `--database` and `--redis` flags applied over it. */
export function resolvedEnv(options: { database?: string; redis?: string; env: NodeJS.ProcessEnv }): NodeJS.ProcessEnv {
  const env = { ...options.env };
  if (options.database !== undefined) env.KEYWARD_DATABASE_URL = options.database;
  if (options.redis !== undefined) env.KEYWARD_REDIS_URL = options.redis;
  return env;
}
