// A throwaway redis-server for bench/redis.mjs: on a free loopback port, no persistence,
// in the foreground as our child (so it cannot outlive a `stop()`), and INFO commandstats
// parsing. Counting commands on a server of our own means no other client's commands
// end up in the figures.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

/** A free TCP port on 127.0.0.1 (asked from the kernel, then released). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `redis-server` on a free port with `--save '' --appendonly no`; resolves with
 * `{ port, url, version, stop }`, or `undefined` when no redis-server binary is installed.
 */
export async function startRedisServer(dir) {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', ''],
    { stdio: 'ignore' },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const spawned = await new Promise((resolve) => {
    child.once('spawn', () => resolve(true));
    child.once('error', () => resolve(false));
  });
  if (!spawned) return undefined;
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  let version;
  for (let i = 0; version === undefined; i++) {
    try {
      await probe.connect();
      version = /redis_version:(\S+)/.exec(await probe.info('server'))?.[1] ?? '?';
    } catch (error) {
      probe.disconnect();
      if (i >= 50) {
        child.kill('SIGKILL');
        throw new Error(`redis-server on port ${port} did not come up: ${error.message}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  async function stop() {
    await probe.call('SHUTDOWN', 'NOSAVE').catch(() => {}); // the connection drops as it exits
    probe.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  return { port, url, version, stop };
}

/** `INFO commandstats` as `{ command: calls }` (subcommands like `client|setname` keep their name). */
export async function commandCalls(client) {
  const calls = {};
  for (const match of (await client.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1]] = Number(match[2]);
  return calls;
}

/** `after - before` per command, without zero entries and without the `info` calls used to measure. */
export function callDelta(before, after) {
  const delta = {};
  for (const [name, calls] of Object.entries(after)) {
    const d = calls - (before[name] ?? 0);
    if (d !== 0 && name !== 'info') delta[name] = d;
  }
  return delta;
}
