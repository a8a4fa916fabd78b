import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** True when nothing listens on `port` (127.0.0.1). */
function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free port below 55535 whose cluster bus port (port + 10000) is free too. */
export async function sparePort(taken: readonly number[] = []): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 35_000);
    if (!taken.includes(port) && (await isFree(port)) && (await isFree(port + 10_000))) return port;
  }
  throw new Error('no spare port found');
}

export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 30_000 });
  return stdout;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts a daemonized redis-server on `port` with no persistence; resolves once it answers PING. */
export async function startRedisServer(port: number, dir: string, extra: readonly string[] = []): Promise<void> {
  await run('redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--daemonize',
    'yes',
    '--dir',
    dir,
    '--logfile',
    join(dir, `redis-${port}.log`),
    '--pidfile',
    join(dir, `redis-${port}.pid`),
    ...extra,
  ]);
  await waitFor(`redis-server on ${port}`, async () => (await redisCli(port, 'PING')).trim() === 'PONG');
}

/** SHUTDOWN NOSAVE; resolves once the port no longer answers. */
export async function stopRedisServer(port: number): Promise<void> {
  await redisCli(port, 'SHUTDOWN', 'NOSAVE').catch(() => undefined);
  await waitFor(`redis-server on ${port} to stop`, async () => isFree(port));
}

/** A standalone throwaway redis-server on a spare port in its own temp dir. */
export interface TestRedisServer {
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** SIGKILL: the server dies at once, keeping nothing (it persists nothing). */
  kill(): Promise<void>;
  /** SIGSTOP: connections stay open and nothing answers. */
  freeze(): Promise<void>;
  /** SIGCONT after `freeze`. */
  thaw(): Promise<void>;
  /** Stops the server and removes its temp dir. */
  destroy(): Promise<void>;
}

async function pidOf(dir: string, port: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const pid = Number((await readFile(join(dir, `redis-${port}.pid`), 'utf8')).trim());
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`no pid for redis-server on ${port}`);
  return pid;
}

export async function startTestRedisServer(): Promise<TestRedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'keyward-redis-'));
  const port = await sparePort();
  await startRedisServer(port, dir);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: () => stopRedisServer(port),
    restart: () => startRedisServer(port, dir),
    async kill() {
      process.kill(await pidOf(dir, port), 'SIGKILL');
      await waitFor(`redis-server on ${port} to die`, async () => isFree(port));
    },
    async freeze() {
      process.kill(await pidOf(dir, port), 'SIGSTOP');
    },
    async thaw() {
      process.kill(await pidOf(dir, port), 'SIGCONT');
    },
    async destroy() {
      await pidOf(dir, port)
        .then((pid) => process.kill(pid, 'SIGCONT'))
        .catch(() => undefined);
      await stopRedisServer(port);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export { waitFor };
