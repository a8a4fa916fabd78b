// One Express app for bench/peers.mjs, in its own process: the same GET / route behind
// one API-key library, reading the key from `X-API-Key`.
//   node bench/lib/peer-app.mjs <peer> <first|second> <sqlite file | schema name>
// peers:
//   betterauth   better-auth + @better-auth/api-key on its own SQLite (better-sqlite3), per
//                its docs: `auth.api.verifyApiKey({ body: { key } })` in a middleware, the
//                plugin's rate limit off (its default allows 10 requests a day per key)
//   passport     passport + passport-headerapikey; the verify callback: SHA-256 of the header
//                and a lookup in SQLite through better-sqlite3
//   handrolled   SHA-256 and a `pg` query per request (PostgreSQL)
//   keyward-sqlite   `apiKeyAuth()` on SqliteStore (the zero-config default's store)
//   keyward-pg       `apiKeyAuth()` on PostgresStore + Redis (cache and bus)
//   keyward-cold     keyward-pg with `lru: { max: 1, perConnection: false }`: no in-process cache
// `first` creates the schema and POOL keys and reports them; `second` opens the same data.
// Messages (JSON lines): {type:'stats'} → {user, system, queries} (queries: SQLite statements
// run, counted at the driver); {type:'revoke', key} → the key revoked (or deleted) → {type:'revoked'}.
import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import { onParentMessages, tell } from './json-child.mjs';

const [peer, role, where] = process.argv.slice(2);
const POOL = Number(process.env.PEERS_POOL ?? 1000);
const PG_URL = (() => {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/test');
  if (!url.username && !process.env.PGUSER && !process.env.USER) url.username = encodeURIComponent(os.userInfo().username);
  return url.href;
})();
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const sha256 = (key) => createHash('sha256').update(key).digest('hex');
let sqliteStatements = 0;

/** Counts every statement better-sqlite3 runs (get/all/run/iterate) from this process. */
async function countSqlite() {
  const { default: Database } = await import('better-sqlite3');
  const probe = new Database(':memory:');
  const proto = Object.getPrototypeOf(probe.prepare('SELECT 1'));
  for (const name of ['get', 'all', 'run', 'iterate']) {
    const original = proto[name];
    proto[name] = function counted(...args) {
      sqliteStatements++;
      return original.apply(this, args);
    };
  }
  probe.close();
  return Database;
}

async function betterauth(app) {
  const Database = await countSqlite();
  const { betterAuth } = await import('better-auth');
  const { getMigrations } = await import('better-auth/db/migration');
  const { apiKey } = await import('@better-auth/api-key');
  const db = new Database(where);
  db.pragma('journal_mode = WAL');
  const auth = betterAuth({
    database: db,
    secret: randomBytes(32).toString('hex'),
    baseURL: 'http://127.0.0.1',
    emailAndPassword: { enabled: true },
    logger: { disabled: true },
    plugins: [apiKey({ rateLimit: { enabled: false } })],
  });
  const keys = [];
  if (role === 'first') {
    await (await getMigrations(auth.options)).runMigrations();
    const { user } = await auth.api.signUpEmail({ body: { email: 'bench@example.com', password: 'bench-password-1', name: 'bench' } });
    for (let i = 0; i < POOL; i++) keys.push((await auth.api.createApiKey({ body: { userId: user.id, name: `k${i}` } })).key);
  }
  app.use((req, res, next) => {
    const key = req.headers['x-api-key'];
    if (!key) return res.status(401).end();
    auth.api.verifyApiKey({ body: { key } }).then((result) => {
      if (!result.valid) return res.status(401).end();
      req.apiKey = result.key;
      next();
    }, next);
  });
  const revoke = async (key) => {
    db.prepare('UPDATE apikey SET enabled = 0 WHERE key = ?').run(await defaultHasher(key));
  };
  return { keys, revoke, close: async () => db.close() };
}

/** better-auth's default key hash: SHA-256, base64url without padding. */
async function defaultHasher(key) {
  return createHash('sha256').update(key).digest('base64url');
}

async function passportPeer(app) {
  const Database = await countSqlite();
  const { default: passport } = await import('passport');
  const { HeaderAPIKeyStrategy } = await import('passport-headerapikey');
  const db = new Database(where);
  db.pragma('journal_mode = WAL');
  const keys = [];
  if (role === 'first') {
    db.exec('CREATE TABLE api_keys (hash TEXT PRIMARY KEY, client TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0)');
    const insert = db.prepare('INSERT INTO api_keys (hash, client) VALUES (?, ?)');
    for (let i = 0; i < POOL; i++) {
      const key = `pk_${randomBytes(24).toString('base64url')}`;
      insert.run(sha256(key), `client-${i}`);
      keys.push(key);
    }
  }
  const find = db.prepare('SELECT client FROM api_keys WHERE hash = ? AND revoked = 0');
  passport.use(
    new HeaderAPIKeyStrategy({ header: 'X-API-Key', prefix: '' }, false, (key, done) => {
      const row = find.get(sha256(key));
      done(null, row ? { client: row.client } : false);
    }),
  );
  app.use(passport.initialize());
  app.use(passport.authenticate('headerapikey', { session: false }));
  const revoke = async (key) => db.prepare('UPDATE api_keys SET revoked = 1 WHERE hash = ?').run(sha256(key));
  return { keys, revoke, close: async () => db.close() };
}

async function handrolled(app) {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: PG_URL, max: 10 });
  const table = `"${where}".api_keys`;
  const keys = [];
  if (role === 'first') {
    await pool.query(`CREATE SCHEMA "${where}"`);
    await pool.query(`CREATE TABLE ${table} (hash text PRIMARY KEY, client text NOT NULL, revoked boolean NOT NULL DEFAULT false)`);
    const rows = [];
    for (let i = 0; i < POOL; i++) {
      const key = `hk_${randomBytes(24).toString('base64url')}`;
      rows.push([sha256(key), `client-${i}`]);
      keys.push(key);
    }
    await pool.query(`INSERT INTO ${table} (hash, client) SELECT * FROM unnest($1::text[], $2::text[])`, [
      rows.map((r) => r[0]),
      rows.map((r) => r[1]),
    ]);
  }
  const sql = `SELECT client FROM ${table} WHERE hash = $1 AND NOT revoked`;
  app.use((req, res, next) => {
    const key = req.headers['x-api-key'];
    if (!key) return res.status(401).end();
    pool.query({ name: 'find-key', text: sql, values: [sha256(key)] }).then((result) => {
      if (result.rowCount === 0) return res.status(401).end();
      req.apiKey = result.rows[0];
      next();
    }, next);
  });
  const revoke = async (key) => pool.query(`UPDATE ${table} SET revoked = true WHERE hash = $1`, [sha256(key)]);
  return { keys, revoke, close: () => pool.end() };
}

async function keywardPeer(app, backend, lru) {
  const { createKeyward, hashKey } = await import('@keyward/core');
  const { apiKeyAuth } = await import('@keyward/express');
  let store;
  let shared = {};
  if (backend === 'sqlite') {
    await countSqlite();
    const { SqliteStore } = await import('@keyward/sqlite');
    store = new SqliteStore({ path: where, create: role === 'first' });
  } else {
    const { PostgresStore } = await import('@keyward/postgres');
    const { RedisInvalidationBus, RedisKeyCache } = await import('@keyward/redis');
    store = new PostgresStore({ connectionString: PG_URL, schema: where });
    shared = {
      cache: new RedisKeyCache({ url: REDIS_URL, namespace: where }),
      bus: new RedisInvalidationBus({ url: REDIS_URL, namespace: where }),
    };
  }
  const keyward = createKeyward({ store, ...shared, ...(lru ? { lru } : {}) });
  const keys = [];
  if (role === 'first') for (let i = 0; i < POOL; i++) keys.push((await keyward.issue(`client-${i}`)).key);
  else await keyward.listKeys('client-0'); // opens (and, on PostgreSQL, checks) the schema before the first request
  app.use(apiKeyAuth({ keyward, limiter: false }));
  const revoke = async (key) => {
    const found = await store.findKeyByHash(hashKey(key));
    await keyward.revoke(found.id, { reason: 'bench', actor: 'bench' });
  };
  return { keys, revoke, close: () => keyward.close().then(() => store.close()) };
}

const peers = {
  betterauth,
  passport: passportPeer,
  handrolled,
  'keyward-sqlite': (app) => keywardPeer(app, 'sqlite'),
  'keyward-pg': (app) => keywardPeer(app, 'pg'),
  'keyward-cold': (app) => keywardPeer(app, 'pg', { max: 1, perConnection: false }),
};

try {
  if (!peers[peer] || !['first', 'second'].includes(role))
    throw new Error(`usage: peer-app.mjs <${Object.keys(peers).join('|')}> <first|second> <where>`);
  const { default: express } = await import('express');
  const app = express();
  const lib = await peers[peer](app);
  app.get('/', (_req, res) => res.json({ hello: 'world' }));
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  onParentMessages(
    async (message) => {
      if (message.type === 'stats') {
        const { user, system } = process.cpuUsage();
        tell({ type: 'stats', user, system, queries: sqliteStatements });
      } else if (message.type === 'revoke') {
        await lib.revoke(message.key);
        tell({ type: 'revoked' });
      }
    },
    async () => {
      await new Promise((resolve) => server.close(resolve));
      await lib.close();
      process.exit(0);
    },
  );
  tell({ type: 'ready', port: server.address().port, keys: lib.keys, pid: process.pid });
} catch (error) {
  tell({ type: 'error', message: error?.stack ?? String(error) });
  process.exit(1);
}
