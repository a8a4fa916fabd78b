import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { cleanEnv } from '../cli/run-cli.js';

export const root = resolve(import.meta.dirname, '../..');

/** Debian's chromium (never a downloaded build); `.ci/run` installs it when missing. */
export function chromiumPath(): string {
  for (const candidate of [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser']) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('chromium is not installed: apt-get install -y chromium (.ci/run does this)');
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

export interface RunningExample {
  readonly child: ChildProcess;
  readonly port: number;
  readonly out: () => string;
  readonly apiKey: string;
  readonly adminKey: string;
  stop(): Promise<void>;
}

/** The Express example as a process, on its own SQLite file, with the console at `mount`. */
export async function startExpressExample(database: string, mount: string): Promise<RunningExample> {
  const port = await freePort();
  const child = spawn(process.execPath, ['examples/express/server.mjs'], {
    cwd: root,
    env: cleanEnv({
      PORT: String(port),
      KEYWARD_DEMO_DATABASE: database,
      KEYWARD_ADMIN_MOUNT: mount,
      KEYWARD_DEMO_FLUSH_INTERVAL: '300ms',
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c) => {
    out += String(c);
  });
  child.stderr?.on('data', (c) => {
    out += String(c);
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const deadline = Date.now() + 30_000;
  while (!/log in with this admin key[^:]*: (kwadmin_\w+)/.test(out)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the Express example did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    port,
    out: () => out,
    apiKey: (/shown once, keep it\): (sk_live_\w+)/.exec(out) as RegExpExecArray)[1] as string,
    adminKey: (/log in with this admin key[^:]*: (kwadmin_\w+)/.exec(out) as RegExpExecArray)[1] as string,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * A path-rewriting reverse proxy: `/<prefix>/…` is forwarded to the upstream as `/…`,
 * as an ingress that mounts the app under a prefix does. Anything else is 404.
 */
export async function startPrefixProxy(prefix: string, upstreamPort: number): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (!url.startsWith(`${prefix}/`)) {
      res.statusCode = 404;
      res.end('not behind this prefix');
      return;
    }
    const upstream = http.request(
      { host: '127.0.0.1', port: upstreamPort, method: req.method, path: url.slice(prefix.length), headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      res.statusCode = 502;
      res.end();
    });
    req.pipe(upstream);
  });
  const port = await freePort();
  await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
  return {
    port,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** `count` requests to the example's API with `key`; every one must be answered 200. */
export async function traffic(port: number, key: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const response = await fetch(`http://127.0.0.1:${port}/orders`, { headers: { authorization: `Bearer ${key}` } });
    if (response.status !== 200) throw new Error(`GET /orders with a live key answered ${response.status}`);
    await response.arrayBuffer();
  }
}
