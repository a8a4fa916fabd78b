import type { Keyward } from '@keyward/core';
import { createKeywardFromEnv } from '@keyward/env';

export interface Connection {
  readonly keyward: Keyward;
  close(): Promise<void>;
}

/**
 * Opens keyward the way the adapters do (`@keyward/env`): `--database` or
 * KEYWARD_DATABASE_URL (SQLite path or postgres:// URL, default ./keyward.db),
 * `--redis` or KEYWARD_REDIS_URL (optional), KEYWARD_PEPPER (optional).
 */
export async function connect(options: { database?: string; redis?: string; env: NodeJS.ProcessEnv }): Promise<Connection> {
  const env = { ...options.env };
  if (options.database !== undefined) env.KEYWARD_DATABASE_URL = options.database;
  if (options.redis !== undefined) env.KEYWARD_REDIS_URL = options.redis;
  const keyward = await createKeywardFromEnv({ env });
  return { keyward, close: () => keyward.close() };
}
