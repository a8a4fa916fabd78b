import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { redisCli, sparePort, startRedisServer, stopRedisServer, waitFor } from './redis-server.js';

const run = promisify(execFile);

/** A real three-master Redis Cluster on spare ports, for tests. */
export interface TestCluster {
  readonly ports: readonly number[];
  /** A new ioredis Cluster client (lazy: it connects on first use). */
  client(): Cluster;
  /** SHUTDOWN NOSAVE on every node and removes the temp dir. */
  stop(): Promise<void>;
}

/**
 * Starts three `redis-server --cluster-enabled yes` nodes, joins them with
 * `redis-cli --cluster create ... --cluster-replicas 0`, and waits for `cluster_state:ok`
 * on every node.
 */
export async function startTestCluster(): Promise<TestCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'keyward-cluster-'));
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) ports.push(await sparePort(ports));
  const stop = async () => {
    await Promise.all(ports.map((port) => stopRedisServer(port).catch(() => undefined)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      await startRedisServer(port, dir, [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        '2000',
      ]);
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: 60_000,
    });
    await waitFor(
      'cluster_state:ok',
      async () => (await Promise.all(ports.map((p) => redisCli(p, 'CLUSTER', 'INFO')))).every((info) => info.includes('cluster_state:ok')),
      30_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    ports,
    client: () =>
      new Cluster(
        ports.map((port) => ({ host: '127.0.0.1', port })),
        { lazyConnect: true },
      ),
    stop,
  };
}
