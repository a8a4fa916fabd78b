import type { Logger } from '@keyward/core';
import pg, { type Pool } from 'pg';

/**
 * Creates a pool for a connection string, with an `'error'` listener so that an
 * idle connection dropped by the server is logged instead of crashing the process.
 */
export function createPool(connectionString: string, logger: Logger, max: number, what: string): Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
    application_name: 'keyward',
    // Idle connections alone do not keep the process alive.
    allowExitOnIdle: true,
  });
  pool.on('error', (error: Error) => {
    logger.warn({ err: { name: error.name, message: error.message } }, `keyward: idle PostgreSQL connection of the ${what} failed`);
  });
  return pool;
}
