import type { Logger } from '@keyward/core';
import { Redis, type RedisOptions } from 'ioredis';
import { unavailable } from './errors.js';
import type { ConnectionConfig, RedisClient } from './options.js';

const noop = () => {};

/** Reconnect quickly (Redis coming back is noticed within a second), never give up. */
export function reconnectDelay(times: number): number {
  return Math.min(50 * 2 ** Math.min(times, 5), 1000);
}

/**
 * Settings of every client keyward creates itself: no connection before the first call, and
 * no offline queue, so a call made while Redis is down fails at once instead of waiting for
 * a reconnect (the verifier then asks the store).
 */
export function ownClientOptions(commandTimeoutMs: number): RedisOptions {
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    autoResendUnfulfilledCommands: false,
    connectTimeout: Math.max(2000, commandTimeoutMs),
    commandTimeout: commandTimeoutMs,
    retryStrategy: reconnectDelay,
  };
}

/** Logs connection errors once per outage (then at debug), so an outage does not flood the log. */
export function watchErrors(client: RedisClient, logger: Logger, what: string): () => void {
  let healthy = true;
  const onError = (error: Error) => {
    if (healthy) logger.warn({ err: { name: error.name, message: error.message } }, `@keyward/redis: ${what} connection error`);
    else logger.debug({ err: { name: error.name, message: error.message } }, `@keyward/redis: ${what} connection error (still down)`);
    healthy = false;
  };
  const onReady = () => {
    if (!healthy) logger.info({}, `@keyward/redis: ${what} connection ready again`);
    healthy = true;
  };
  client.on('error', onError);
  client.on('ready', onReady);
  return () => {
    client.off('error', onError);
    client.off('ready', onReady);
  };
}

/** How long calls fail at once (but for one probe) after one timed out. */
const SUSPECT_MS = 1000;

/**
 * One client as used by a keyward class: created lazily from the URL (and then owned and
 * closed by `close()`) or injected (never closed). Every call goes through `run`, which
 * waits for the first connection and bounds the whole call by `commandTimeout`.
 */
export class Connection {
  readonly owned: boolean;
  private readonly injected: RedisClient | undefined;
  private created: Redis | undefined;
  private readyWait: Promise<void> | undefined;
  private closed = false;
  /** After a call timed out (a frozen or overloaded Redis): calls fail at once until then... */
  private suspectUntil = 0;
  /** ...but for one probe at a time, whose answer closes the breaker again. */
  private probing = false;

  constructor(
    private readonly config: ConnectionConfig,
    private readonly role: string,
  ) {
    this.injected = config.client;
    this.owned = config.client === undefined;
  }

  /** The client (created on first use when keyward owns it; creating it does no I/O). */
  get client(): RedisClient {
    if (this.injected !== undefined) return this.injected;
    if (this.created === undefined) {
      this.created = new Redis(this.config.url, {
        ...ownClientOptions(this.config.commandTimeoutMs),
        connectionName: `${this.config.namespace}:${this.role}`,
      });
      watchErrors(this.created, this.config.logger, this.role);
    }
    return this.created;
  }

  /**
   * Runs `op` on a ready client. Rejects with `KEYWARD_UNAVAILABLE` when Redis is down, when the
   * first connection or the call takes longer than `commandTimeout`, or when `op` fails.
   */
  run<T>(what: string, op: (client: RedisClient) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(unavailable(`${what}: this ${this.role} was closed`));
    // A Redis that just let a call time out is not waited for again by every caller: one
    // probe at a time goes through, the others fail at once (and fall back) until it answers.
    let probe = false;
    if (performance.now() < this.suspectUntil) {
      if (this.probing)
        return Promise.reject(unavailable(`${what}: Redis did not answer within ${this.config.commandTimeoutMs} ms just now; not waiting`));
      this.probing = probe = true;
    }
    const client = this.client;
    const ms = this.config.commandTimeoutMs;
    const answered = () => {
      this.suspectUntil = 0;
    };
    const connection = this;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        connection.suspectUntil = performance.now() + SUSPECT_MS;
        fail(unavailable(`${what} timed out after ${ms} ms`));
      }, ms);
      function fail(error: unknown): void {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (probe) connection.probing = false;
        reject(
          error instanceof Error && (error as { code?: unknown }).code === 'KEYWARD_UNAVAILABLE'
            ? error
            : unavailable(`${what} failed: ${messageOf(error)}`, error),
        );
      }
      const start = () => {
        if (settled) return; // timed out while connecting: do not send a late command
        op(client).then((value) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          if (probe) connection.probing = false;
          answered();
          resolve(value);
        }, fail);
      };
      if (client.status === 'ready') start();
      else this.whenReady(client).then(start, fail);
    });
  }

  /** Closes the client if keyward created it; an injected client is left alone. */
  async close(): Promise<void> {
    this.closed = true;
    const created = this.created;
    if (created === undefined) return;
    this.created = undefined;
    if (created.status === 'ready') await bounded(created.quit(), this.config.commandTimeoutMs, 'quit').catch(noop);
    created.disconnect();
  }

  private whenReady(client: RedisClient): Promise<void> {
    switch (client.status) {
      case 'ready':
        return Promise.resolve();
      case 'wait':
        client.connect().catch(noop); // failures arrive as 'error'/'close' events
        return this.waitForReady(client);
      case 'connecting':
      case 'connect':
        return this.waitForReady(client);
      default:
        return Promise.reject(unavailable(`Redis is not connected (connection ${client.status})`));
    }
  }

  /** One shared wait for the connection being made: resolves on 'ready', rejects on 'close'/'end'. */
  private waitForReady(client: RedisClient): Promise<void> {
    if (this.readyWait !== undefined) return this.readyWait;
    const wait = new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        client.off('ready', onReady);
        client.off('close', onClose);
        client.off('end', onClose);
        if (this.readyWait === wait) this.readyWait = undefined;
        if (error) reject(error);
        else resolve();
      };
      const onReady = () => done();
      const onClose = () => done(unavailable('could not connect to Redis'));
      client.on('ready', onReady);
      client.on('close', onClose);
      client.on('end', onClose);
    });
    this.readyWait = wait;
    return wait;
  }
}

/** `promise`, or a `KEYWARD_UNAVAILABLE` rejection after `ms` (the timer never outlives the race). */
export function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(unavailable(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
