import { type Duration, type InvalidationBus, type InvalidationHandlers, type Logger, parseDuration } from '@keyward/core';
import type { Pool } from 'pg';
import { ChannelListener } from './channel-listener.js';
import { storeError, type Target, unavailable } from './errors.js';
import { type ConnectionOptions, resolveCommon } from './options.js';
import { createPool } from './pool.js';
import { changeChannel } from './sql.js';

export type PostgresChangeFeedOptions = ConnectionOptions & {
  /** Schema of the `PostgresStore` whose changes to follow (the channel is `<schema>_changes`). Default `keyward`. */
  schema?: string;
  /** A pino logger (or anything with pino's `(obj, msg)` methods). Default: silent. */
  logger?: Logger;
  /** Backoff between reconnect attempts after the listening connection is lost. */
  reconnect?: {
    /** First delay. Default `100ms`. */
    minDelay?: Duration;
    /** Delays double up to this. Default `5s`. */
    maxDelay?: Duration;
  };
  /** How often the listening connection is checked with `SELECT 1` (a dead one is replaced); `0` disables. Default `30s`. */
  healthCheckInterval?: Duration;
};

/**
 * The invalidation bus for deployments on PostgreSQL alone (no Redis): every
 * `PostgresStore` commit that touches a key sends `pg_notify('<schema>_changes',
 * key_hash)` in its own transaction; this feed LISTENs on a dedicated connection
 * and drops those keys from each process's LRU. On a lost connection it resets
 * the LRU, reconnects with backoff and resets again (messages were missed).
 */
export class PostgresChangeFeed implements InvalidationBus {
  /** The NOTIFY channel. */
  readonly channel: string;
  private readonly pool: Pool;
  private readonly ownsPool: boolean;
  private readonly logger: Logger;
  private readonly target: Target;
  private readonly handlers = new Set<InvalidationHandlers>();
  private readonly listener: ChannelListener;
  private starting: Promise<void> | undefined;
  private closed = false;

  constructor(options: PostgresChangeFeedOptions = {}) {
    const config = resolveCommon(options, 'PostgresChangeFeed');
    const reconnect = options.reconnect ?? {};
    const minDelayMs = parseDuration(reconnect.minDelay ?? '100ms', 'reconnect.minDelay');
    const maxDelayMs = parseDuration(reconnect.maxDelay ?? '5s', 'reconnect.maxDelay');
    const healthCheckMs = parseDuration(options.healthCheckInterval ?? '30s', 'healthCheckInterval');
    this.channel = changeChannel(config.schema);
    this.logger = config.logger;
    this.target = config.target;
    this.ownsPool = config.pool === undefined;
    // Own pool: one connection to listen on, one to publish with.
    this.pool = config.pool ?? createPool(config.connectionString as string, config.logger, 2, 'change feed');
    this.listener = new ChannelListener({
      pool: this.pool,
      channel: this.channel,
      logger: this.logger,
      minDelayMs: Math.max(1, minDelayMs),
      maxDelayMs: Math.max(1, minDelayMs, maxDelayMs),
      healthCheckMs,
      onNotify: (hash) => this.each((h) => h.invalidate(hash)),
      onGap: () => this.each((h) => h.reset()),
    });
  }

  /** Server process id of the listening connection, when subscribed (for diagnostics and tests). */
  get listenerPid(): number | undefined {
    return this.listener.pid;
  }

  /** Sends a NOTIFY for a key hash (the store already does in each commit; a duplicate is harmless). */
  async publish(keyHash: string): Promise<void> {
    try {
      await this.pool.query('SELECT pg_notify($1, $2)', [this.channel, keyHash]);
    } catch (error) {
      throw storeError(error, 'publishing a key change', this.target);
    }
  }

  /** Starts listening (resolves once LISTEN is active); the returned function unsubscribes. */
  async subscribe(handlers: InvalidationHandlers): Promise<() => Promise<void>> {
    if (this.closed) throw unavailable('subscribing', new Error('the change feed is closed'), this.target);
    this.handlers.add(handlers);
    try {
      if (this.starting === undefined) {
        const attempt = this.listener.start();
        this.starting = attempt;
        attempt.catch(() => {
          if (this.starting === attempt) this.starting = undefined;
        });
      }
      await this.starting;
    } catch (error) {
      this.handlers.delete(handlers);
      throw unavailable('listening for key changes', error, this.target);
    }
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      this.handlers.delete(handlers);
      if (this.handlers.size === 0) await this.stopListening();
    };
  }

  /** Stops listening and ends the pool if the feed created it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handlers.clear();
    await this.stopListening();
    if (this.ownsPool) await this.pool.end();
  }

  private async stopListening(): Promise<void> {
    this.starting = undefined;
    await this.listener.stop();
  }

  private each(call: (handlers: InvalidationHandlers) => void): void {
    for (const handlers of this.handlers) {
      try {
        call(handlers);
      } catch (error) {
        const err = error as Error;
        this.logger.error({ err: { name: err.name, message: err.message } }, 'keyward: change feed handler threw');
      }
    }
  }
}
