import type { Logger } from '@keyward/core';
import type { Notification, Pool, PoolClient } from 'pg';
import { quoteIdent } from './sql.js';

export interface ListenerConfig {
  readonly pool: Pool;
  readonly channel: string;
  readonly logger: Logger;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  /** 0 disables the periodic `SELECT 1` that detects a silently dead connection. */
  readonly healthCheckMs: number;
  readonly onNotify: (payload: string) => void;
  /** Messages may have been missed: called when the connection is lost and again once it is back. */
  readonly onGap: () => void;
}

const HEALTH_TIMEOUT_MS = 5000;

/**
 * Holds one dedicated connection that LISTENs on a channel. On loss it reports a
 * gap, reconnects with exponential backoff (with jitter) until stopped, re-LISTENs,
 * and reports a gap again. Every connection it holds has an `'error'` listener.
 */
export class ChannelListener {
  private client: PoolClient | undefined;
  private stopped = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;

  constructor(private readonly config: ListenerConfig) {}

  /** The server process id of the listening connection (for diagnostics), if connected. */
  get pid(): number | undefined {
    return (this.client as { processID?: number } | undefined)?.processID;
  }

  /** Connects and LISTENs; rejects if the first attempt fails (no retries are scheduled then). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.healthTimer);
    const client = this.client;
    this.client = undefined;
    if (client) client.release(true);
  }

  private async connect(): Promise<void> {
    const { pool, channel, logger } = this.config;
    const client = await pool.connect();
    let lost = false;
    const onLost = (error?: Error) => {
      if (lost) return;
      lost = true;
      this.lost(client, error);
    };
    client.on('error', (error: Error) => onLost(error));
    client.on('end', () => onLost());
    client.on('notification', (message: Notification) => {
      if (message.channel === channel && message.payload) this.config.onNotify(message.payload);
    });
    try {
      await client.query(`LISTEN ${quoteIdent(channel)}`);
    } catch (error) {
      lost = true;
      client.release(true);
      throw error;
    }
    if (lost || this.stopped) {
      client.release(true);
      if (lost) throw new Error('connection lost while subscribing');
      return;
    }
    this.client = client;
    this.attempt = 0;
    if (this.config.healthCheckMs > 0) {
      clearInterval(this.healthTimer);
      this.healthTimer = setInterval(() => this.healthCheck(client, onLost), this.config.healthCheckMs);
      this.healthTimer.unref();
    }
    logger.debug({ channel }, 'keyward: listening for key changes');
  }

  private healthCheck(client: PoolClient, onLost: (error?: Error) => void): void {
    const timer = setTimeout(() => onLost(new Error('health check timed out')), HEALTH_TIMEOUT_MS);
    timer.unref();
    client.query('SELECT 1').then(
      () => clearTimeout(timer),
      (error: Error) => {
        clearTimeout(timer);
        onLost(error);
      },
    );
  }

  private lost(client: PoolClient, error: Error | undefined): void {
    if (this.client !== client) return;
    this.client = undefined;
    clearInterval(this.healthTimer);
    client.release(error ?? true);
    if (this.stopped) return;
    this.config.logger.warn(
      { channel: this.config.channel, err: error ? { name: error.name, message: error.message } : undefined },
      'keyward: change feed connection lost; flushing caches and reconnecting',
    );
    this.config.onGap();
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    const { minDelayMs, maxDelayMs } = this.config;
    const base = Math.min(maxDelayMs, minDelayMs * 2 ** this.attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempt++;
    this.retryTimer = setTimeout(() => void this.reconnect(), delay);
    this.retryTimer.unref();
  }

  private async reconnect(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.connect();
    } catch (error) {
      const err = error as Error;
      this.config.logger.warn(
        { channel: this.config.channel, attempt: this.attempt, err: { name: err.name, message: err.message } },
        'keyward: change feed reconnect failed; retrying',
      );
      this.schedule();
      return;
    }
    if (this.client === undefined) return;
    this.config.logger.info({ channel: this.config.channel }, 'keyward: change feed reconnected');
    this.config.onGap();
  }
}
