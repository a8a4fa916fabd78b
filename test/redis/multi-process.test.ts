import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createKeyward } from '@keyward/core';
import { PostgresStore } from '@keyward/postgres';
import { RedisInvalidationBus, RedisKeyCache } from '@keyward/redis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomNamespace, singleUrl } from '../../packages/redis/src/testing/targets.js';

const CHILD = fileURLToPath(new URL('./fixtures/verifier-child.mjs', import.meta.url));
const BUILT = ['core', 'redis'].map((p) => fileURLToPath(new URL(`../../packages/${p}/dist/index.js`, import.meta.url)));
if (!process.env.KEYWARD_POSTGRES_MODULE) BUILT.push(fileURLToPath(new URL('../../packages/postgres/dist/index.js', import.meta.url)));

function databaseUrl(): string {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/test');
  if (!url.username && !process.env.PGUSER && !process.env.USER) url.username = encodeURIComponent(userInfo().username);
  return url.href;
}

type ChildMessage =
  | { type: 'ready' }
  | { type: 'first'; valid: boolean; reason: string | null }
  | { type: 'rejected'; at: number; reason: string; calls: number }
  | { type: 'error'; message: string };

/** A verifier child process and the messages it sent. */
class Verifier {
  readonly messages: ChildMessage[] = [];
  private readonly waiters: (() => void)[] = [];
  readonly child: ChildProcess;

  constructor(env: NodeJS.ProcessEnv) {
    this.child = fork(CHILD, [], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m) => {
      this.messages.push(m as ChildMessage);
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  async next<T extends ChildMessage['type']>(type: T, timeoutMs = 15_000): Promise<Extract<ChildMessage, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find((m) => m.type === type || m.type === 'error');
      if (found?.type === 'error') throw new Error(`verifier child: ${found.message}`);
      if (found) return found as Extract<ChildMessage, { type: T }>;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`verifier child sent no "${type}" within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || !this.child.connected) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.send({ type: 'stop' });
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
  }
}

describe('two verifier processes, one admin, shared Redis and PostgreSQL', () => {
  const namespace = randomNamespace();
  const schema = `kwredis_${namespace.slice(-12)}`;
  const connectionString = databaseUrl();
  const store = new PostgresStore({ connectionString, schema });
  const cache = new RedisKeyCache({ url: singleUrl(), namespace });
  const bus = new RedisInvalidationBus({ url: singleUrl(), namespace });
  const admin = createKeyward({ store, cache, bus });
  const verifiers: Verifier[] = [];

  beforeAll(() => {
    const missing = BUILT.filter((file) => !existsSync(file));
    if (missing.length > 0) throw new Error(`build the packages first (pnpm build): missing ${missing.join(', ')}`);
  });

  afterAll(async () => {
    await Promise.all(verifiers.map((v) => v.stop()));
    await admin.close();
    await Promise.all([store.close(), cache.close(), bus.close()]);
    const client = new pg.Client({ connectionString });
    client.on('error', () => {});
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
    const { Redis } = await import('ioredis');
    const redis = new Redis(singleUrl());
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
    await redis.quit();
  });

  it('a revoke by the admin reaches both verifiers in under a second', async () => {
    const issued = await admin.issue('acme', { scopes: ['orders:read'] });
    const env = { REDIS_URL: singleUrl(), DATABASE_URL: connectionString, KEYWARD_SCHEMA: schema, KEYWARD_NAMESPACE: namespace };
    verifiers.push(new Verifier(env), new Verifier(env));
    await Promise.all(verifiers.map((v) => v.next('ready')));
    for (const v of verifiers) v.child.send({ type: 'watch', key: issued.key });
    const firsts = await Promise.all(verifiers.map((v) => v.next('first')));
    expect(firsts).toEqual([
      { type: 'first', valid: true, reason: null },
      { type: 'first', valid: true, reason: null },
    ]);
    await new Promise((r) => setTimeout(r, 50)); // both now answer from their LRU
    expect(verifiers.every((v) => !v.messages.some((m) => m.type === 'rejected'))).toBe(true);

    const revokedAt = Date.now();
    await admin.revoke(issued.id, { reason: 'compromised' });
    const rejections = await Promise.all(verifiers.map((v) => v.next('rejected', 5000)));
    const latencies = rejections.map((r) => r.at - revokedAt);
    console.info(`revoke-to-reject: ${latencies.map((ms) => `${ms} ms`).join(', ')} (LRU max age 60 s: only the bus explains it)`);
    for (const r of rejections) expect(r.reason).toBe('revoked');
    for (const ms of latencies) expect(ms).toBeLessThan(1000);
  });
});
