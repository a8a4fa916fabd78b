import { type Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisClient } from './options.js';

/**
 * Settings of a subscriber connection: connect on demand, no offline queue, no ioredis
 * reconnect or auto-resubscribe (the subscription reconnects and resubscribes itself so it
 * knows when messages may have been missed).
 */
function subscriberOptions(connectionName: string, timeoutMs: number): RedisOptions {
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    autoResubscribe: false,
    retryStrategy: () => null,
    maxRetriesPerRequest: 1,
    connectTimeout: Math.max(2000, timeoutMs),
    connectionName,
  };
}

/**
 * Makes a new dedicated subscriber connection per call: from the URL, as a duplicate of an
 * injected `Redis`, or, for a `Cluster`, to its nodes in turn (PUBLISH on a cluster reaches
 * every node, so any node will do; a dead node is skipped on the next attempt).
 */
export function subscriberFactory(
  source: { client: RedisClient | undefined; url: string },
  connectionName: string,
  timeoutMs: number,
): () => Redis {
  const options = subscriberOptions(connectionName, timeoutMs);
  const { client, url } = source;
  if (client === undefined) return () => new Redis(url, options);
  if (!client.isCluster) return () => (client as Redis).duplicate(options);
  const cluster = client as Cluster;
  let turn = 0;
  return () => {
    const nodes = cluster.nodes('master');
    const node = nodes[turn++ % Math.max(1, nodes.length)];
    if (node === undefined) throw new Error('the cluster has no known node yet');
    const { host, port, username, password, tls, family } = node.options;
    return new Redis({ host, port, username, password, tls, family, ...options });
  };
}
