// The example APIs as processes: they fail loudly when they cannot listen, issue the
// demo key only into their own database, mask passwords, and rate-limit alert lines.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SqliteStore } from '@keyward/sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanEnv, cli, requireBuiltCli } from '../cli/run-cli.js';

const root = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'keyward-examples-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

interface Running {
  readonly child: ChildProcess;
  readonly out: () => string;
  readonly err: () => string;
  readonly exited: Promise<number | null>;
}

function start(example: string, env: Record<string, string>): Running {
  const child = spawn(process.execPath, [`examples/${example}/server.mjs`], {
    cwd: root,
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk) => {
    out += String(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    err += String(chunk);
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return { child, out: () => out, err: () => err, exited };
}

async function until(running: Running, text: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!running.out().includes(text)) {
    if (Date.now() > deadline || running.child.exitCode !== null) throw new Error(`no "${text}":\n${running.out()}\n${running.err()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stop(running: Running): Promise<void> {
  if (running.child.exitCode === null) running.child.kill('SIGTERM');
  await running.exited;
}

function occupied(): Promise<Server> {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => done(server));
  });
}

async function freePort(): Promise<number> {
  const server = await occupied();
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** A keyward database set up as the README tour does: `keyward migrate`, then keys issued by the CLI. */
async function tourDatabase(): Promise<string> {
  requireBuiltCli();
  const path = join(dir, `tour-${++n}.db`);
  const env = cleanEnv({ KEYWARD_DATABASE_URL: path });
  expect((await cli(['migrate'], env)).code).toBe(0);
  return path;
}

describe('examples', () => {
  it.each(['express', 'koa', 'nest', 'fastify', 'hono'])(
    '%s: a port in use is a loud failure (exit 1, the reason on stderr), never "listening"',
    async (example) => {
      const blocker = await occupied();
      const { port } = blocker.address() as { port: number };
      try {
        const running = start(example, { PORT: String(port), KEYWARD_DEMO_DATABASE: join(dir, `${example}-busy.db`) });
        const code = await Promise.race([running.exited, new Promise((r) => setTimeout(() => r('timeout'), 30_000))]);
        if (code === 'timeout') await stop(running);
        expect(code, running.out() + running.err()).toBe(1);
        expect(running.err()).toContain(`cannot listen on http://127.0.0.1:${port}: the port is already in use`);
        expect(running.out()).not.toContain('listening');
        expect(running.out()).not.toContain('Issued a key'); // nothing issued for a server that never served
      } finally {
        await new Promise((r) => blocker.close(r));
      }
    },
  );

  it('serves a database named by KEYWARD_DATABASE_URL without issuing the demo key into it', async () => {
    const db = await tourDatabase();
    const running = start('express', { PORT: String(await freePort()), KEYWARD_DATABASE_URL: db });
    try {
      await until(running, 'Try:');
      expect(running.out()).toContain(`keys in ${db}`);
      expect(running.out()).not.toContain('Issued a key');
      expect(running.out()).toContain('Authorization: Bearer $KEY');
    } finally {
      await stop(running);
    }
    const store = new SqliteStore({ path: db });
    try {
      expect(await store.listKeys({ clientId: 'demo' })).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('issues the demo key into its own database and shows it in the curl commands', async () => {
    const running = start('koa', { PORT: String(await freePort()), KEYWARD_DEMO_DATABASE: join(dir, 'own.db') });
    try {
      await until(running, 'Try:');
      const key = /Issued a key for client "demo" \(shown once, keep it\): (sk_live_\w{49})/.exec(running.out())?.[1];
      expect(key, running.out()).toBeDefined();
      expect(running.out()).toContain(`-H "Authorization: Bearer ${key}"`);
      expect(running.out()).toContain(`-H "X-API-Key: ${key}"`);
    } finally {
      await stop(running);
    }
  });

  it('prints a database URL with its password masked', async () => {
    const url = new URL(process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/test');
    url.username ||= process.env.PGUSER || process.env.USER || 'postgres';
    url.password = 'not-a-real-s3cret'; // trust auth: the server ignores it
    const schema = `kwex_${process.pid}_${Date.now()}`;
    const running = start('express', { PORT: String(await freePort()), KEYWARD_DATABASE_URL: url.href, KEYWARD_DATABASE_SCHEMA: schema });
    try {
      await until(running, 'Try:');
      const all = running.out() + running.err();
      expect(all).not.toContain('not-a-real-s3cret');
      expect(all).toContain(`${url.protocol}//${url.username}:***@${url.host}`);
    } finally {
      await stop(running);
      const pg = await import('pg');
      const client = new pg.default.Client({ connectionString: url.href });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    }
  });

  it.each(['express', 'koa', 'fastify', 'hono'])(
    '%s: alert lines are rate-limited (one per key, not one per request) and name the forwarded address',
    async (example) => {
      const db = await tourDatabase();
      const env = cleanEnv({ KEYWARD_DATABASE_URL: db });
      const old = (await cli(['issue', 'acme'], env)).stdout.trim();
      expect((await cli(['rotate', 'acme', '--grace', '1s'], env)).code).toBe(0);
      await new Promise((r) => setTimeout(r, 1200)); // the grace passes
      const port = await freePort();
      const running = start(example, { PORT: String(port), KEYWARD_DATABASE_URL: db });
      try {
        await until(running, 'Try:');
        for (let i = 0; i < 40; i++) {
          // Each from its own address (the example trusts a local proxy: `trust proxy`, `app.proxy`), so the attempt limiter stays out of it.
          const headers = { authorization: `Bearer ${old}`, 'x-forwarded-for': `203.0.113.${i + 1}` };
          const res = await fetch(`http://127.0.0.1:${port}/orders`, { headers });
          expect(res.status).toBe(401);
        }
        await new Promise((r) => setTimeout(r, 200));
        const alerts = running
          .out()
          .split('\n')
          .filter((line) => line.startsWith('alert:'));
        expect(alerts).toEqual([expect.stringMatching(/^alert: inactive key [0-9a-f]{8} of acme used from 203\.0\.113\.1$/)]);
      } finally {
        await stop(running);
      }
    },
  );
});
