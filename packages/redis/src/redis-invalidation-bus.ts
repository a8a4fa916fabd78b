import type { Duration, InvalidationBus, InvalidationHandlers } from '@keyward/core';
import { Connection } from './connection.js';
import { invalidArgument, unavailable } from './errors.js';
import { checkKeyHash, keyNames } from './key-names.js';
import { type ConnectionConfig, durationOption, type RedisConnectionOptions, resolveConnectionOptions } from './options.js';
import { subscriberFactory } from './subscriber-factory.js';
import { Subscription } from './subscription.js';

/** Options of `RedisInvalidationBus`: a connection (client or url), namespace, timeout, logger, heartbeat. */
export type RedisInvalidationBusOptions = RedisConnectionOptions & {
  /**
   * How often each subscriber connection is PINGed. Three unanswered beats in a row (a frozen
   * Redis) count as a lost connection: subscribers are reset and it reconnects. Default
   * `200ms` (a frozen Redis is noticed within about 0.8 s); `0` turns the heartbeat off.
   */
  heartbeatInterval?: Duration;
};

/**
 * Invalidation over Redis pub/sub (`InvalidationBus`): `publish` is a PUBLISH of the key hash
 * on `<namespace>:invalidate` (on Cluster a plain PUBLISH reaches every node); each
 * `subscribe` opens its own dedicated subscriber connection, never the injected client.
 */
export class RedisInvalidationBus implements InvalidationBus {
  readonly namespace: string;
  readonly channel: string;
  private readonly config: ConnectionConfig;
  private readonly connection: Connection;
  private readonly subscriptions = new Set<Subscription>();
  private readonly heartbeatMs: number;

  constructor(options?: RedisInvalidationBusOptions) {
    const { heartbeatInterval, ...connection } = options ?? {};
    this.config = resolveConnectionOptions(connection);
    this.heartbeatMs = heartbeatInterval === 0 ? 0 : durationOption(heartbeatInterval, 'heartbeatInterval', 200, 10, 60_000);
    this.namespace = this.config.namespace;
    this.channel = keyNames.channel(this.namespace);
    this.connection = new Connection(this.config, 'bus');
  }

  /** Tells every subscribed process that this key changed. */
  async publish(keyHash: string): Promise<void> {
    checkKeyHash(keyHash);
    const reply = await this.connection.run('publish', (client) => client.publish(this.channel, keyHash));
    if (typeof reply !== 'number') throw unavailable('publish: unexpected reply');
  }

  /**
   * Subscribes on a new dedicated connection and calls `handlers.invalidate(hash)` per
   * message. Calls `handlers.reset()` once subscribed, when the connection drops, and again
   * after it resubscribed (messages may have been missed). Rejects with `KEYWARD_UNAVAILABLE`
   * when Redis is unreachable. Resolves with an unsubscribe that closes the connection.
   */
  async subscribe(handlers: InvalidationHandlers): Promise<() => Promise<void>> {
    if (typeof handlers?.invalidate !== 'function' || typeof handlers.reset !== 'function') {
      throw invalidArgument('handlers', handlers, 'must have invalidate() and reset() functions');
    }
    // A cluster must know its nodes before one of them can be picked for the subscriber.
    if (this.config.client?.isCluster === true) await this.connection.run('cluster connect', async () => undefined);
    const subscription = new Subscription({
      channel: this.channel,
      handlers,
      logger: this.config.logger,
      connect: subscriberFactory(this.config, `${this.namespace}:bus`, this.config.commandTimeoutMs),
      timeoutMs: this.config.commandTimeoutMs,
      heartbeatMs: this.heartbeatMs,
    });
    this.subscriptions.add(subscription);
    try {
      await subscription.start();
    } catch (error) {
      this.subscriptions.delete(subscription);
      await subscription.stop();
      throw error;
    }
    return async () => {
      this.subscriptions.delete(subscription);
      await subscription.stop();
    };
  }

  /** Ends every subscription and closes the publishing client if this bus created it. */
  async close(): Promise<void> {
    const open = [...this.subscriptions];
    this.subscriptions.clear();
    await Promise.all(open.map((s) => s.stop()));
    await this.connection.close();
  }
}
