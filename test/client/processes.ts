// Processes for the client tests: the example APIs and the consumer fixture, run as an
// operator would run them, their output collected.
import { type ChildProcess, spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { cleanEnv } from '../cli/run-cli.js';

export const root = resolve(import.meta.dirname, '../..');

/** The client tests run the built packages: fail early, naming what to build. */
export function requireBuiltPackages(): void {
  for (const pkg of ['client', 'core', 'express']) {
    const dist = statSync(join(root, `packages/${pkg}/dist/index.js`), { throwIfNoEntry: false });
    if (dist === undefined) throw new Error(`packages/${pkg} is not built: run pnpm run build first`);
  }
}

export interface Proc {
  readonly child: ChildProcess;
  readonly out: () => string;
  readonly exited: Promise<number | null>;
}

/** Runs `node <args>` from the repository root with a clean environment plus `env`. */
export function run(args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, args, { cwd: root, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (c) => {
    out += String(c);
  });
  child.stderr?.on('data', (c) => {
    out += String(c);
  });
  return { child, out: () => out, exited: new Promise((done) => child.once('exit', (code) => done(code))) };
}

export const freePort = () =>
  new Promise<number>((done) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => done(port));
    });
  });

/** Starts an example API on its own SQLite database in `dir`; resolves once it printed its demo key. */
export async function startExample(
  dir: string,
  name: string,
  example: string,
): Promise<{ api: Proc; baseUrl: string; key: string; db: string }> {
  const port = await freePort();
  const db = join(dir, `${name}.db`);
  const api = run([`examples/${example}/server.mjs`], { PORT: String(port), KEYWARD_DEMO_DATABASE: db });
  const deadline = Date.now() + 30_000;
  let match = api.out().match(/keep it\): (\S+)/);
  while (match === null) {
    if (Date.now() > deadline || api.child.exitCode !== null) throw new Error(`example did not start:\n${api.out()}`);
    await new Promise((r) => setTimeout(r, 50));
    match = api.out().match(/keep it\): (\S+)/);
  }
  return { api, baseUrl: `http://127.0.0.1:${port}`, key: match[1] as string, db };
}
