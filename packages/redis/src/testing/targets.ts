import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { RedisClient } from '../options.js';
import { startTestCluster } from './cluster.js';

/** A Redis deployment the integration tests run against: the shared single Redis or a throwaway cluster. */
export interface RedisTarget {
  readonly name: string;
  readonly isCluster: boolean;
  /** A new injected-style client (lazy, no offline queue on a single node); closed by `close()`. */
  client(): RedisClient;
  /** One shared client with ioredis defaults, for looking at Redis from the test. */
  raw(): RedisClient;
  /** One plain connection per master node (SCAN, CLIENT LIST/KILL, PUBSUB). */
  nodes(): Redis[];
  /** SCAN + DEL of everything under `<namespace>:` on every node; resolves with the count deleted. */
  cleanup(namespace: string): Promise<number>;
  close(): Promise<void>;
}

export const singleUrl = (): string => process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A namespace no other test run uses. */
export const randomNamespace = (): string => `kwtest-${randomBytes(6).toString('hex')}`;

function makeTarget(
  name: string,
  isCluster: boolean,
  newClient: () => RedisClient,
  newRaw: () => RedisClient,
  nodePorts: () => Redis[],
  stop: () => Promise<void>,
): RedisTarget {
  const made: RedisClient[] = [];
  let nodes: Redis[] | undefined;
  let raw: RedisClient | undefined;
  const track = <T extends RedisClient>(c: T): T => {
    c.on('error', () => {});
    made.push(c);
    return c;
  };
  const target: RedisTarget = {
    name,
    isCluster,
    client: () => track(newClient()),
    raw: () => {
      raw ??= track(newRaw());
      return raw;
    },
    nodes: () => {
      nodes ??= nodePorts().map((n) => track(n));
      return nodes;
    },
    async cleanup(namespace) {
      let deleted = 0;
      for (const node of target.nodes()) {
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 500);
          cursor = next;
          for (const key of keys) deleted += await node.del(key);
        } while (cursor !== '0');
      }
      return deleted;
    },
    async close() {
      await Promise.all(made.map((c) => (c.status === 'ready' ? c.quit().catch(() => undefined) : undefined)));
      for (const c of made) c.disconnect();
      await stop();
    },
  };
  return target;
}

export async function startSingleTarget(): Promise<RedisTarget> {
  const url = singleUrl();
  return makeTarget(
    'single Redis',
    false,
    () => new Redis(url, { lazyConnect: true, enableOfflineQueue: false }),
    () => new Redis(url),
    () => [new Redis(url)],
    async () => {},
  );
}

export async function startClusterTarget(): Promise<RedisTarget> {
  const cluster = await startTestCluster();
  return makeTarget(
    'Redis Cluster',
    true,
    () => cluster.client(),
    () => cluster.client(),
    () => cluster.ports.map((port) => new Redis({ host: '127.0.0.1', port })),
    () => cluster.stop(),
  );
}

/** For `describe.each`: both deployments. */
export const TARGETS = [
  { name: 'single Redis', start: startSingleTarget },
  { name: 'Redis Cluster', start: startClusterTarget },
] as const;
