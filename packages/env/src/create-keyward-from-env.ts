import { existsSync } from 'node:fs';
import { type InvalidationBus, type KeyStore, Keyward, type KeywardOptions, type SharedKeyCache } from '@keyward/core';
import { SqliteChangeFeed, SqliteStore } from '@keyward/sqlite';
import { type DatabaseTarget, parseDatabaseUrl, parseRedisUrl } from './database-url.js';
import { importOptional } from './optional-import.js';

/** Options of `createKeywardFromEnv`: where to read the environment, plus any `KeywardOptions` (they win over the environment). */
export interface KeywardFromEnvOptions extends KeywardOptions {
  /**
   * The environment to read. Default `process.env`. Variables:
   * - `KEYWARD_DATABASE_URL`: SQLite path / `file:` / `sqlite:` URL, or `postgres://` URL. Default (unset) `./keyward.db`; set but empty is an error.
   * - `KEYWARD_DATABASE_SCHEMA`: PostgreSQL schema. Default `keyward`.
   * - `KEYWARD_REDIS_URL`: `redis://` or `rediss://`; enables the shared cache and pub/sub bus. Default: none.
   * - `KEYWARD_REDIS_NAMESPACE`: prefix of keyward's Redis keys. Default `keyward`.
   * - `KEYWARD_PEPPER`: server secret (at least 16 characters); keys are stored as HMAC-SHA256. Default: none.
   * - `KEYWARD_PREFIX`: key prefix, e.g. `sk_test`. Default `sk_live`.
   */
  env?: NodeJS.ProcessEnv;
  /**
   * Create or upgrade the schema on first use. `false` only checks that the schema
   * is current and refuses otherwise (for `keyward doctor`, or a deploy that runs
   * `keyward migrate` as its own step). Default `true`.
   */
  migrate?: boolean;
  /**
   * Whether a missing database (no SQLite file, no PostgreSQL schema) may be created
   * on first use. Default: `true` only for the zero-config default (no
   * `KEYWARD_DATABASE_URL`: `./keyward.db`, announced by a log line); with an
   * explicit URL `false`, so a typo fails with "no keyward database at …; run
   * keyward migrate" instead of starting an empty keyward.
   */
  create?: boolean;
}

interface Closable {
  close(): Promise<void>;
}

/** A `Keyward` that also closes the store, cache and bus it was built with. */
class EnvKeyward extends Keyward {
  constructor(
    options: KeywardOptions,
    private readonly owned: readonly Closable[],
  ) {
    super(options);
  }

  override async close(): Promise<void> {
    await super.close();
    for (const resource of this.owned) await resource.close();
  }
}

const nonEmpty = (value: string | undefined): string | undefined => (value === undefined || value === '' ? undefined : value);

async function postgresParts(
  target: Extract<DatabaseTarget, { kind: 'postgres' }>,
  schema: string | undefined,
  withBus: boolean,
  migration: { migrate?: boolean; create: boolean },
) {
  const pg = await importOptional(
    '@keyward/postgres',
    'a postgres:// KEYWARD_DATABASE_URL',
    '@keyward/postgres pg',
    () => import('@keyward/postgres'),
  );
  const store = new pg.PostgresStore({ connectionString: target.connectionString, ...(schema ? { schema } : {}), ...migration });
  const bus = withBus ? new pg.PostgresChangeFeed({ connectionString: target.connectionString, ...(schema ? { schema } : {}) }) : undefined;
  return { store, bus };
}

/**
 * The zero-config default is for trying keyward: say which file it uses, so nobody
 * runs a deployment on a database that appeared by accident.
 */
function announceZeroConfig(path: string, logger: KeywardOptions['logger']): void {
  const created = existsSync(path) ? 'using' : 'creating';
  const message = `keyward: KEYWARD_DATABASE_URL is not set; ${created} the zero-config SQLite database ${path} (for a deployment, set KEYWARD_DATABASE_URL and run keyward migrate)`;
  if (logger) logger.warn({ path, zeroConfig: true }, message);
  else process.stderr.write(`${message}\n`);
}

/**
 * Builds a keyward from the environment: the store from `KEYWARD_DATABASE_URL`
 * (SQLite by default, PostgreSQL for a `postgres://` URL), a Redis shared cache and
 * pub/sub bus when `KEYWARD_REDIS_URL` is set (else the store's own change feed as
 * the bus), and the pepper and prefix. Explicit `options` override what the
 * environment says. Async because the optional packages are imported on demand.
 * Nothing connects here: stores and clients connect on first use.
 */
export async function createKeywardFromEnv(options: KeywardFromEnvOptions = {}): Promise<Keyward> {
  const { env = process.env, migrate, create, ...overrides } = options;
  const target = parseDatabaseUrl(env.KEYWARD_DATABASE_URL);
  const zeroConfig = env.KEYWARD_DATABASE_URL === undefined;
  const migration = { ...(migrate === undefined ? {} : { migrate }), create: create ?? zeroConfig };
  const redisUrl = parseRedisUrl(env.KEYWARD_REDIS_URL);
  const namespace = nonEmpty(env.KEYWARD_REDIS_NAMESPACE);
  const schema = nonEmpty(env.KEYWARD_DATABASE_SCHEMA);
  const owned: Closable[] = [];
  const own = <T extends Closable>(resource: T): T => {
    owned.push(resource);
    return resource;
  };
  let { store, cache, bus } = overrides as { store?: KeyStore; cache?: SharedKeyCache; bus?: InvalidationBus };
  const logger = overrides.logger ? { logger: overrides.logger } : {};
  try {
    if (redisUrl !== undefined && (cache === undefined || bus === undefined)) {
      const redis = await importOptional('@keyward/redis', 'KEYWARD_REDIS_URL', '@keyward/redis ioredis', () => import('@keyward/redis'));
      const connection = { url: redisUrl, ...(namespace ? { namespace } : {}), ...logger };
      cache ??= own(new redis.RedisKeyCache(connection));
      bus ??= own(new redis.RedisInvalidationBus(connection));
    }
    if (store === undefined) {
      if (target.kind === 'postgres') {
        const parts = await postgresParts(target, schema, bus === undefined, migration);
        store = own(parts.store);
        if (parts.bus !== undefined) bus = own(parts.bus);
      } else {
        if (zeroConfig && migration.create) announceZeroConfig(target.path, overrides.logger);
        const sqlite = own(new SqliteStore({ path: target.path, ...migration, ...logger }));
        store = sqlite;
        if (bus === undefined && !sqlite.memory) bus = own(new SqliteChangeFeed({ store: sqlite }));
      }
    }
    const pepper = overrides.pepper ?? nonEmpty(env.KEYWARD_PEPPER);
    const prefix = overrides.prefix ?? nonEmpty(env.KEYWARD_PREFIX);
    return new EnvKeyward(
      { ...overrides, store, cache, bus, ...(pepper ? { pepper } : {}), ...(prefix ? { prefix } : {}) },
      owned.reverse(),
    );
  } catch (error) {
    for (const resource of owned) await resource.close().catch(() => undefined);
    throw error;
  }
}
