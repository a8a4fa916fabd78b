import type { Logger, SchedulerLock, SchedulerLockHandle } from '@keyward/core';
import type { Pool, PoolClient } from 'pg';
import { invalidOption, unavailable } from './errors.js';
import { type ConnectionOptions, resolveCommon } from './options.js';
import { createPool } from './pool.js';
import { advisoryKey } from './sql.js';

export type PostgresAdvisoryLockOptions = ConnectionOptions & {
  /** Lock names are scoped to this schema (two keyward installs in one database never share a lock). Default `keyward`. */
  schema?: string;
  /** A pino logger. Default: silent. */
  logger?: Logger;
};

/**
 * A `SchedulerLock` on PostgreSQL session-level advisory locks, for deployments
 * without Redis: `pg_try_advisory_lock` on a dedicated pooled connection, held for
 * the whole pass; `release()` unlocks and returns the connection. If the process
 * dies, the server drops the session and the lock with it, so `ttlMs` is not
 * needed (and ignored). Like any scheduler lock it only avoids duplicate work;
 * correctness comes from the store's compare-and-set.
 */
export class PostgresAdvisoryLock implements SchedulerLock {
  readonly schema: string;
  private readonly pool: Pool;
  private readonly ownsPool: boolean;
  private readonly logger: Logger;
  private readonly target: ReturnType<typeof resolveCommon>['target'];

  constructor(options: PostgresAdvisoryLockOptions = {}) {
    const config = resolveCommon(options, 'PostgresAdvisoryLock');
    this.schema = config.schema;
    this.logger = config.logger;
    this.target = config.target;
    this.ownsPool = config.pool === undefined;
    this.pool = config.pool ?? createPool(config.connectionString as string, config.logger, 2, 'scheduler lock');
  }

  async acquire(name: string, _ttlMs?: number): Promise<SchedulerLockHandle | null> {
    if (typeof name !== 'string' || name === '' || name.length > 200)
      throw invalidOption('name', name, 'must be a lock name of 1-200 characters');
    const lockText = `${this.schema}:lock:${name}`;
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw unavailable('taking the scheduler lock', error, this.target);
    }
    let taken: boolean;
    try {
      const result = await client.query<{ taken: boolean }>(`SELECT pg_try_advisory_lock(${advisoryKey(1)}) AS taken`, [lockText]);
      taken = result.rows[0]?.taken === true;
    } catch (error) {
      client.release(error as Error);
      throw unavailable('taking the scheduler lock', error, this.target);
    }
    if (!taken) {
      client.release();
      return null;
    }
    // A checked-out client has no pool 'error' listener: without ours, a dropped
    // connection (server restart, pg_terminate_backend) would crash the process.
    // The session is gone, and the lock with it; release() then just discards the client.
    let lost: Error | undefined;
    const onError = (error: Error) => {
      lost = error;
      this.logger.warn(
        { lock: name, err: { message: error.message } },
        '@keyward/postgres: scheduler lock connection lost; the lock is gone',
      );
    };
    client.on('error', onError);
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        if (lost) {
          client.release(lost); // destroyed, not reused: our listener goes with it
          return;
        }
        try {
          await client.query(`SELECT pg_advisory_unlock(${advisoryKey(1)})`, [lockText]);
          client.off('error', onError);
          client.release();
        } catch (error) {
          // Destroying the connection ends the session, which frees the lock anyway.
          client.release(error as Error);
          this.logger.warn(
            { lock: name, err: { message: (error as Error).message } },
            '@keyward/postgres: advisory unlock failed; connection dropped',
          );
        }
      },
    };
  }

  /** Ends the pool if this lock created it. */
  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
  }
}
