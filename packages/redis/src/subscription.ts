import type { InvalidationHandlers, Logger } from '@keyward/core';
import type { Redis } from 'ioredis';
import { bounded, messageOf, reconnectDelay } from './connection.js';
import { unavailable } from './errors.js';

const noop = () => {};
const KEY_HASH = /^[0-9a-f]{16,128}$/;

export interface SubscriptionConfig {
  readonly channel: string;
  readonly handlers: InvalidationHandlers;
  readonly logger: Logger;
  readonly connect: () => Redis;
  readonly timeoutMs: number;
  /** How often the live connection is PINGed; `0` for never. */
  readonly heartbeatMs: number;
}

/** A subscriber whose PING went unanswered this many heartbeats is given up for dead. */
const MISSED_HEARTBEATS = 3;

/**
 * One subscription on its own connection. When the connection drops (close, end or error) it
 * calls `reset()` (messages may be lost from now on), reconnects with backoff (at most 1 s
 * apart), resubscribes and calls `reset()` again (messages were missed meanwhile).
 *
 * A frozen Redis (stopped, or a network that drops packets) closes nothing: the connection
 * stays open and silent, and TCP keepalive takes minutes to notice. So the live connection is
 * PINGed every `heartbeatMs`; a PING unanswered for three heartbeats counts as a drop.
 */
export class Subscription {
  private conn: Redis | undefined;
  private live = false;
  private stopped = false;
  private attempts = 0;
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: EventEmitter listeners take any arguments
  private readonly listeners = new WeakMap<Redis, [string, (...args: any[]) => void][]>();

  constructor(private readonly config: SubscriptionConfig) {}

  /** First connection and SUBSCRIBE; rejects (leaving nothing open) when Redis is unreachable. */
  async start(): Promise<void> {
    await this.attempt();
    this.reset('subscribed');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.live = false;
    clearTimeout(this.timer);
    clearInterval(this.heartbeat);
    const conn = this.conn;
    this.conn = undefined;
    if (conn !== undefined) await this.dispose(conn, true);
  }

  private async attempt(): Promise<void> {
    const { channel, timeoutMs } = this.config;
    const conn = this.config.connect();
    this.conn = conn;
    // biome-ignore lint/suspicious/noExplicitAny: EventEmitter listeners take any arguments
    const listeners: [string, (...args: any[]) => void][] = [
      [
        'error',
        (error: Error) => {
          this.config.logger.debug({ err: { name: error.name, message: error.message } }, '@keyward/redis: subscriber connection error');
          this.dropped(conn, 'error');
        },
      ],
      ['close', () => this.dropped(conn, 'close')],
      ['end', () => this.dropped(conn, 'end')],
      ['message', (from: string, message: string) => this.message(from, message)],
    ];
    for (const [event, listener] of listeners) conn.on(event, listener);
    this.listeners.set(conn, listeners);
    try {
      await bounded(conn.connect(), timeoutMs, 'subscriber connect');
      const count = await bounded(conn.subscribe(channel), timeoutMs, 'subscribe');
      if (typeof count !== 'number') throw unavailable('subscribe: unexpected reply');
    } catch (error) {
      if (this.conn === conn) this.conn = undefined;
      await this.dispose(conn, false);
      throw error instanceof Error && (error as { code?: unknown }).code === 'KEYWARD_UNAVAILABLE'
        ? error
        : unavailable(`subscribe failed: ${messageOf(error)}`, error);
    }
    if (this.stopped || this.conn !== conn) {
      await this.dispose(conn, true);
      return;
    }
    this.live = true;
    this.beat(conn);
  }

  /** PINGs `conn` while it is the live connection; silence for three beats is a drop. */
  private beat(conn: Redis): void {
    clearInterval(this.heartbeat);
    const every = this.config.heartbeatMs;
    if (every <= 0) return;
    let waitingSince: number | undefined;
    this.heartbeat = setInterval(() => {
      if (conn !== this.conn || !this.live) {
        clearInterval(this.heartbeat);
        return;
      }
      const now = performance.now();
      if (waitingSince !== undefined) {
        if (now - waitingSince >= MISSED_HEARTBEATS * every) this.dropped(conn, 'heartbeat unanswered');
        return;
      }
      waitingSince = now;
      conn.ping().then(
        () => {
          waitingSince = undefined;
        },
        noop, // a failing connection reports itself through 'error' / 'close'
      );
    }, every);
    this.heartbeat.unref();
  }

  private dropped(conn: Redis, why: string): void {
    if (conn !== this.conn || !this.live) return; // still connecting (attempt() handles it) or already gone
    this.live = false;
    clearInterval(this.heartbeat);
    this.conn = undefined;
    void this.dispose(conn, false);
    this.config.logger.warn({ why }, '@keyward/redis: invalidation subscriber disconnected; flushing the local cache and reconnecting');
    this.reset('disconnected');
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(
      () => {
        this.attempt().then(
          () => {
            if (this.stopped) return;
            this.attempts = 0;
            this.config.logger.info({}, '@keyward/redis: invalidation subscriber resubscribed');
            this.reset('resubscribed');
          },
          (error: unknown) => {
            this.config.logger.debug({ err: { message: messageOf(error) } }, '@keyward/redis: resubscribe failed; retrying');
            this.schedule();
          },
        );
      },
      reconnectDelay(this.attempts++),
    );
    this.timer.unref();
  }

  private message(channel: string, message: string): void {
    if (channel !== this.config.channel || this.stopped) return;
    if (typeof message !== 'string' || !KEY_HASH.test(message)) {
      this.config.logger.warn(
        { length: String(message).length },
        '@keyward/redis: malformed invalidation message; flushing the local cache',
      );
      this.reset('malformed message');
      return;
    }
    try {
      this.config.handlers.invalidate(message);
    } catch (error) {
      this.config.logger.error({ err: { message: messageOf(error) } }, '@keyward/redis: invalidate handler threw');
    }
  }

  private reset(why: string): void {
    if (this.stopped) return;
    try {
      this.config.handlers.reset();
    } catch (error) {
      this.config.logger.error({ err: { message: messageOf(error) }, why }, '@keyward/redis: reset handler threw');
    }
  }

  /** Removes our listeners (leaving a silent 'error' one) and closes the connection. */
  private async dispose(conn: Redis, graceful: boolean): Promise<void> {
    for (const [event, listener] of this.listeners.get(conn) ?? []) conn.off(event, listener);
    this.listeners.delete(conn);
    if (conn.listenerCount('error') === 0) conn.on('error', noop);
    if (graceful && conn.status === 'ready') await bounded(conn.quit(), this.config.timeoutMs, 'subscriber quit').catch(noop);
    conn.disconnect();
  }
}
