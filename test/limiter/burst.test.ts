// A burst of guesses from one source costs at most the budget in store lookups:
// 1,000 concurrent distinct well-formed unknown keys over real HTTP, on SQLite and
// on PostgreSQL, with the default in-memory limiter, the Redis limiter and the
// zero-config one from the environment (shared Redis, each run its own namespace).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AttemptLimiter, createKeyward, generateKey, type KeyStore, type Keyward } from '@keyward/core';
import { attemptLimiterFromEnv } from '@keyward/env';
import { PostgresStore } from '@keyward/postgres';
import { RedisAttemptLimiter } from '@keyward/redis';
import { SqliteStore } from '@keyward/sqlite';
import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { dropSchema, randomSchema, testPool } from '../../packages/postgres/src/test-db.js';
import { randomNamespace, singleUrl } from '../../packages/redis/src/testing/targets.js';
import { buildApp, countLookups, listen, statusOf } from './app.js';

const BURST = 1000;
const BUDGET = 10;

const dir = mkdtempSync(join(tmpdir(), 'keyward-burst-'));
const schema = randomSchema('kwburst');
const pools: pg.Pool[] = [];
afterAll(async () => {
  for (const pool of pools) await pool.end();
  await dropSchema(schema);
  rmSync(dir, { recursive: true, force: true });
});

const STORES: { name: string; open(): KeyStore }[] = [
  { name: 'SQLite', open: () => new SqliteStore({ path: join(dir, `${randomNamespace()}.db`) }) },
  {
    name: 'PostgreSQL',
    open: () => {
      const pool = testPool(10);
      pools.push(pool);
      return new PostgresStore({ pool, schema });
    },
  },
];

type Closable = AttemptLimiter & { close?(): Promise<void> };
const LIMITERS: { name: string; make(): Closable | undefined }[] = [
  { name: 'the default in-memory limiter', make: () => undefined },
  { name: 'RedisAttemptLimiter', make: () => new RedisAttemptLimiter({ url: singleUrl(), namespace: randomNamespace() }) },
  {
    name: 'the zero-config limiter from KEYWARD_REDIS_URL',
    make: () => attemptLimiterFromEnv({ KEYWARD_REDIS_URL: singleUrl(), KEYWARD_REDIS_NAMESPACE: randomNamespace() }),
  },
];

describe.each(STORES)('a burst of unknown keys on $name', ({ open }) => {
  it.each(LIMITERS)('costs at most the budget in store lookups with $name', async ({ make }) => {
    const store = open();
    const limiter = make();
    const keyward: Keyward = createKeyward({ store });
    const live = await keyward.issue('acme'); // also migrates the store before the count starts
    const server = await listen(buildApp(keyward, limiter));
    try {
      const lookups = countLookups(keyward);
      const statuses = await Promise.all(Array.from({ length: BURST }, () => statusOf(server.url, generateKey('sk_live'))));
      expect(lookups.count).toBe(BUDGET); // the budget, all of it, and not one more
      expect(statuses.filter((s) => s === 401).length).toBe(lookups.count);
      expect(statuses.filter((s) => s === 429).length).toBe(BURST - lookups.count);
      // The source is over its budget: a guess is refused without a lookup, on the rotate route too.
      expect(await statusOf(server.url, generateKey('sk_live'))).toBe(429);
      expect(await statusOf(server.url, generateKey('sk_live'), '/api-keys/rotate', 'POST')).toBe(429);
      expect(lookups.count).toBe(BUDGET);
      // A valid key from that same source still passes: this process issued it, so it is known here.
      expect(await statusOf(server.url, live.key)).toBe(200);
    } finally {
      await server.close();
      await limiter?.close?.();
      await keyward.close();
      await store.close?.();
    }
  });
});
