import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '@keyward/core';
import { PostgresChangeFeed, PostgresStore } from '@keyward/postgres';
import { RedisInvalidationBus, RedisKeyCache } from '@keyward/redis';
import { SqliteChangeFeed, SqliteStore } from '@keyward/sqlite';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createKeywardFromEnv } from './create-keyward-from-env.js';
import { attemptLimiterFromEnv } from './env-attempt-limiter.js';

const dir = mkdtempSync(join(tmpdir(), 'keyward-env-'));
const namespace = `kwtest-${randomBytes(6).toString('hex')}`;
const schema = `kwt_${randomBytes(6).toString('hex')}`;
const pgUrl = process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/test';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  const url = new URL(pgUrl);
  if (!url.username) url.username = process.env.PGUSER || process.env.USER || userInfo().username;
  // pg ships no types here (no @types/pg in this package): a minimal shape is enough for one DROP.
  type PgClient = { connect(): Promise<void>; query(sql: string): Promise<unknown>; end(): Promise<void> };
  const pgName = 'pg';
  const pg = (await import(pgName)) as { default: { Client: new (config: object) => PgClient } };
  const client = new pg.default.Client({ connectionString: url.href });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
  const redis = new Redis(redisUrl);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();
});

describe('createKeywardFromEnv', () => {
  it('builds SQLite + change feed from a file path, with pepper and prefix', async () => {
    const path = join(dir, 'keys.db');
    const keyward = await createKeywardFromEnv({
      env: { KEYWARD_DATABASE_URL: path, KEYWARD_PEPPER: 'p'.repeat(20), KEYWARD_PREFIX: 'sk_test' },
      create: true,
    });
    try {
      expect(keyward.store).toBeInstanceOf(SqliteStore);
      expect((keyward.store as SqliteStore).filename).toBe(path);
      expect(keyward.config.bus).toBeInstanceOf(SqliteChangeFeed);
      expect(keyward.config.cache).toBeUndefined();
      expect(keyward.config.pepper).toBe('p'.repeat(20));
      const issued = await keyward.issue('acme');
      expect(issued.key).toMatch(/^sk_test_/);
      expect((await keyward.verify(issued.key)).valid).toBe(true);
    } finally {
      await keyward.close();
    }
    // the data is in the file: a second instance sees it
    const again = await createKeywardFromEnv({ env: { KEYWARD_DATABASE_URL: `file://${path}` } });
    expect(await again.listKeys('acme')).toHaveLength(1);
    await again.close();
  });

  it('lets explicit options win over the environment', async () => {
    const store = new MemoryStore();
    const keyward = await createKeywardFromEnv({
      env: { KEYWARD_DATABASE_URL: ':memory:', KEYWARD_PREFIX: 'sk_env' },
      store,
      prefix: 'sk_opt',
    });
    expect(keyward.store).toBe(store);
    expect(keyward.config.prefix).toBe('sk_opt');
    await keyward.close();
  });

  it('builds PostgresStore + PostgresChangeFeed from a postgres:// URL', async () => {
    const keyward = await createKeywardFromEnv({ env: { KEYWARD_DATABASE_URL: pgUrl, KEYWARD_DATABASE_SCHEMA: schema }, create: true });
    try {
      expect(keyward.store).toBeInstanceOf(PostgresStore);
      expect(keyward.config.bus).toBeInstanceOf(PostgresChangeFeed);
      const issued = await keyward.issue('acme');
      expect((await keyward.verify(issued.key)).valid).toBe(true);
    } finally {
      await keyward.close();
    }
  });

  it('adds the Redis cache, bus and limiter when KEYWARD_REDIS_URL is set', async () => {
    const env = { KEYWARD_DATABASE_URL: join(dir, 'redis.db'), KEYWARD_REDIS_URL: redisUrl, KEYWARD_REDIS_NAMESPACE: namespace };
    const keyward = await createKeywardFromEnv({ env, create: true });
    const limiter = attemptLimiterFromEnv(env);
    try {
      expect(keyward.store).toBeInstanceOf(SqliteStore);
      expect(keyward.config.cache).toBeInstanceOf(RedisKeyCache);
      expect(keyward.config.bus).toBeInstanceOf(RedisInvalidationBus);
      const issued = await keyward.issue('acme');
      expect((await keyward.verify(issued.key)).valid).toBe(true);
      expect(await limiter.hit('198.51.100.1')).toBe(0);
      expect(await limiter.check('198.51.100.1')).toBe(0);
    } finally {
      await keyward.close();
      await limiter.close?.();
    }
  });

  it('an explicit URL never creates a database: a typo fails with "no keyward database at …; run keyward migrate"', async () => {
    const typo = join(dir, 'typo.db');
    const sqlite = await createKeywardFromEnv({ env: { KEYWARD_DATABASE_URL: typo } });
    await expect(sqlite.listKeys('acme')).rejects.toThrow(`no keyward database at "${typo}"; run keyward migrate`);
    await expect(sqlite.issue('acme')).rejects.toMatchObject({ code: 'KEYWARD_UNAVAILABLE' });
    await sqlite.close();
    expect(existsSync(typo)).toBe(false);

    const typoSchema = `${schema}_typo`;
    const pg = await createKeywardFromEnv({ env: { KEYWARD_DATABASE_URL: pgUrl, KEYWARD_DATABASE_SCHEMA: typoSchema } });
    await expect(pg.listKeys('acme')).rejects.toThrow(`no keyward database at schema "${typoSchema}"`);
    await expect(pg.listKeys('acme')).rejects.toThrow(/; run keyward migrate$/);
    await pg.close();
    const probe = new PostgresStore({ connectionString: pgUrl, schema: typoSchema, migrate: false });
    await expect(probe.listKeys({})).rejects.toThrow(/is at version 0/); // still not created
    await probe.close();

    // An existing keyward database is used (and upgraded) all the same.
    const again = await createKeywardFromEnv({ env: { KEYWARD_DATABASE_URL: join(dir, 'keys.db') } });
    expect(await again.listKeys('acme')).toHaveLength(1);
    await again.close();
  });

  it('the zero-config default (no KEYWARD_DATABASE_URL) creates ./keyward.db and says so; an empty variable is an error', async () => {
    const cwd = process.cwd();
    const home = mkdtempSync(join(tmpdir(), 'keyward-zero-'));
    const lines: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (_o: object, m?: string) => lines.push(m ?? '') };
    process.chdir(home);
    try {
      const keyward = await createKeywardFromEnv({ env: {}, logger });
      await keyward.issue('acme');
      await keyward.close();
      expect(existsSync(join(home, 'keyward.db'))).toBe(true);
      expect(lines).toEqual([
        expect.stringMatching(/KEYWARD_DATABASE_URL is not set; creating the zero-config SQLite database \.\/keyward\.db/),
      ]);
    } finally {
      process.chdir(cwd);
      rmSync(home, { recursive: true, force: true });
    }
    await expect(createKeywardFromEnv({ env: { KEYWARD_DATABASE_URL: '' } })).rejects.toThrow(/KEYWARD_DATABASE_URL is set but empty/);
  });

  it('gives clear errors for a bad URL without the password', async () => {
    await expect(createKeywardFromEnv({ env: { KEYWARD_DATABASE_URL: 'mongodb://admin:s3cretpw@db/x' } })).rejects.toThrow(
      /KEYWARD_DATABASE_URL/,
    );
    await expect(createKeywardFromEnv({ env: { KEYWARD_DATABASE_URL: 'mongodb://admin:s3cretpw@db/x' } })).rejects.not.toThrow(/s3cretpw/);
    await expect(createKeywardFromEnv({ env: { KEYWARD_REDIS_URL: 'http://x:s3cretpw@h' } })).rejects.toThrow(/KEYWARD_REDIS_URL/);
    await expect(createKeywardFromEnv({ env: { KEYWARD_DATABASE_URL: ':memory:', KEYWARD_PEPPER: 'short' } })).rejects.toThrow(/pepper/);
  });
});
