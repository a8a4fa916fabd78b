import type { Logger } from '@keyward/core';
import type { Pool, PoolClient } from 'pg';

/**
 * Runs `work` inside `BEGIN ... COMMIT` on one pooled connection, rolling back on
 * any error. While the connection is checked out it carries an `'error'` listener
 * (pg-pool removes its own), so a server that drops it mid-transaction rejects the
 * pending query instead of crashing the process with an unhandled `'error'` event.
 * A connection whose rollback fails is destroyed rather than returned to the pool.
 */
export async function inTransaction<T>(pool: Pool, logger: Logger, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken = error;
    logger.warn({ err: { name: error.name, message: error.message } }, 'keyward: PostgreSQL connection lost during a transaction');
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    try {
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      if (broken === undefined) {
        await client.query('ROLLBACK').catch((e: Error) => {
          broken = e;
        });
      }
      throw error;
    }
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}
