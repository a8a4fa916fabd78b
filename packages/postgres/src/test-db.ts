// Helpers for this package's integration tests and the cross-package tests in test/postgres.
// Not exported from the package.
import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import pg from 'pg';

/** The test database URL (`DATABASE_URL` or the local default), with the OS user filled in when it names none. */
export function testUrl(): string {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/test');
  if (!url.username && !process.env.PGUSER && !process.env.USER) url.username = encodeURIComponent(userInfo().username);
  return url.href;
}

/** A URL like the test one with some parts replaced (port, database, user, password). */
export function testUrlWith(change: { port?: string; database?: string; user?: string; password?: string }): string {
  const url = new URL(testUrl());
  if (change.port !== undefined) url.port = change.port;
  if (change.database !== undefined) url.pathname = `/${change.database}`;
  if (change.user !== undefined) url.username = change.user;
  if (change.password !== undefined) url.password = change.password;
  return url.href;
}

/** A fresh schema name for one test. */
export function randomSchema(prefix = 'kwt'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** A pool for tests, with an `'error'` listener so a terminated idle connection never crashes the run. */
export function testPool(max = 4): pg.Pool {
  const pool = new pg.Pool({ connectionString: testUrl(), max });
  pool.on('error', () => {});
  return pool;
}

/** Runs one statement on a short-lived connection. */
export async function adminQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: testUrl() });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

export async function dropSchema(schema: string): Promise<void> {
  await adminQuery(`DROP SCHEMA IF EXISTS "${schema.replaceAll('"', '""')}" CASCADE`);
}

/** Polls `check` every 5 ms until it returns true, or throws after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
