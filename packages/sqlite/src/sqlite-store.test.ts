import { randomUUID } from 'node:crypto';
import { ErrorCodes, verifyAuditRows } from '@keyward/core';
import { makeKeyRecord, makeRotationRecord, runKeyStoreContract } from '@keyward/core/testing';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveDatabasePath } from './database-path.js';
import { migrate } from './migrate-api.js';
import { resolveStoreOptions } from './options.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';
import { SqliteStore } from './sqlite-store.js';

runKeyStoreContract('SqliteStore (:memory:)', async () => ({ store: new SqliteStore(':memory:') }));

const T0 = Date.UTC(2026, 0, 1);
const stores: SqliteStore[] = [];
const dbs: Database.Database[] = [];
function memoryStore(options: { database?: Database.Database; migrate?: boolean } = {}): SqliteStore {
  const store = options.database ? new SqliteStore({ database: options.database, migrate: options.migrate }) : new SqliteStore(':memory:');
  stores.push(store);
  return store;
}
function rawMemory(): Database.Database {
  const db = new Database(':memory:');
  dbs.push(db);
  return db;
}
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dbs.splice(0)) d.close();
});

describe('options', () => {
  it.each([
    [':memory:', ':memory:'],
    ['file::memory:', ':memory:'],
    ['sqlite::memory:', ':memory:'],
    ['./data/keys.db', './data/keys.db'],
    ['/var/lib/keys.db', '/var/lib/keys.db'],
    ['file:///var/lib/keys.db', '/var/lib/keys.db'],
    ['file:///var/lib/my%20keys.db', '/var/lib/my keys.db'],
    ['file:data/keys.db', 'data/keys.db'],
    ['sqlite:///var/lib/keys.db', '/var/lib/keys.db'],
    ['sqlite://data/keys.db', 'data/keys.db'],
    ['sqlite:./keys.db', './keys.db'],
    ['SQLITE:keys.db', 'keys.db'],
  ])('reads path %s as %s', (input, filename) => {
    expect(resolveDatabasePath(input).filename).toBe(filename);
  });

  it('defaults to KEYWARD_DATABASE_URL, then ./keyward.db', () => {
    expect(resolveStoreOptions({}, {}).location.filename).toBe('./keyward.db');
    expect(resolveStoreOptions({}, { KEYWARD_DATABASE_URL: 'sqlite:///srv/k.db' }).location.filename).toBe('/srv/k.db');
    expect(resolveStoreOptions({ path: 'x.db' }, { KEYWARD_DATABASE_URL: 'sqlite:///srv/k.db' }).location.filename).toBe('x.db');
    expect(resolveStoreOptions({}, {})).toMatchObject({ migrate: true, create: true, busyTimeout: 5000 });
    expect(() => resolveStoreOptions({}, { KEYWARD_DATABASE_URL: '' })).toThrow(/KEYWARD_DATABASE_URL" is set but empty/);
    expect(() => resolveStoreOptions({ create: 'no' as never }, {})).toThrow(/option "create" must be a boolean/);
  });

  it('refuses a non-SQLite URL without echoing its password', () => {
    const attempt = () => resolveStoreOptions({}, { KEYWARD_DATABASE_URL: 'postgres://app:s3cret-pw@db:5432/keys' });
    expect(attempt).toThrowError(/KEYWARD_DATABASE_URL.*postgres:/);
    try {
      attempt();
    } catch (error) {
      expect(error).toMatchObject({ code: ErrorCodes.INVALID_OPTION });
      expect(String((error as Error).message)).not.toContain('s3cret');
    }
  });

  it.each([
    [{ path: '' }, /option "path" must be a non-empty string/],
    [{ path: 42 }, /option "path" must be a non-empty string.*got 42/],
    [{ path: 'file:keys.db?mode=ro' }, /option "path" must not carry URL query/],
    [{ migrate: 'yes' }, /option "migrate" must be a boolean; got "yes"/],
    [{ busyTimeout: -1 }, /option "busyTimeout" must be a whole number.*got -1/],
    [{ busyTimeout: 1.5 }, /option "busyTimeout"/],
    [{ logger: {} }, /option "logger" must have debug\/info\/warn\/error/],
    [{ database: {} }, /option "database" must be a better-sqlite3 Database/],
    [null, /option "options" must be an object/],
  ])('refuses %j at construction, naming the package and option', (options, message) => {
    expect(() => new SqliteStore(options as never)).toThrowError(message);
    expect(() => new SqliteStore(options as never)).toThrowError(/^@keyward\/sqlite: /);
    try {
      new SqliteStore(options as never);
    } catch (error) {
      expect(error).toMatchObject({ code: ErrorCodes.INVALID_OPTION });
    }
  });

  it('refuses path together with database, and a closed database', () => {
    const db = rawMemory();
    expect(() => new SqliteStore({ database: db, path: 'x.db' } as never)).toThrowError(/"path" cannot be combined with "database"/);
    const closed = new Database(':memory:');
    closed.close();
    expect(() => new SqliteStore({ database: closed })).toThrowError(/must be an open better-sqlite3 Database/);
  });

  it('never mutates the caller options', () => {
    const options = Object.freeze({ path: ':memory:', migrate: true, busyTimeout: 100 });
    const copy = { ...options };
    memoryStore();
    new SqliteStore(options);
    expect(options).toEqual(copy);
  });

  it('does no I/O in the constructor: a bad path only fails on first use', async () => {
    const store = new SqliteStore({ path: `/nonexistent-${randomUUID()}/keys.db` });
    stores.push(store);
    await expect(store.findKeyById('x')).rejects.toMatchObject({
      code: ErrorCodes.UNAVAILABLE,
      message: expect.stringMatching(/nonexistent-.*keys\.db/),
    });
  });
});

describe('schema on :memory:', () => {
  it('creates every table, index and trigger and records the migration', async () => {
    const db = await memoryStore().database();
    const names = (type: string) =>
      (db.prepare('SELECT name FROM sqlite_schema WHERE type = ? ORDER BY name').all(type) as { name: string }[]).map((r) => r.name);
    expect(names('table')).toEqual(
      expect.arrayContaining(['keys', 'rotations', 'audit_events', 'key_changes', 'keyward_meta', 'keyward_migrations', 'key_usage']),
    );
    expect(names('index')).toEqual(
      expect.arrayContaining([
        'keys_key_hash_key',
        'keys_one_pending_per_client',
        'keys_client_idx',
        'keys_expires_idx',
        'keys_grace_idx',
        'rotations_one_open_per_client',
        'rotations_idempotency_key',
      ]),
    );
    expect(names('trigger')).toEqual(
      expect.arrayContaining([
        'audit_events_no_update',
        'audit_events_no_delete',
        'keys_change_on_insert',
        'keys_change_on_update',
        'keys_change_on_delete',
      ]),
    );
    expect(db.prepare('SELECT version FROM keyward_migrations').all()).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
  });

  it('keeps the audit log append-only (triggers reject UPDATE and DELETE)', async () => {
    const store = memoryStore();
    const key = makeKeyRecord();
    await store.commit({
      at: T0,
      insertKeys: [key],
      audit: [
        {
          at: T0,
          type: 'key.issued',
          clientId: 'acme',
          keyId: key.id,
          fingerprint: key.fingerprint,
          rotationId: null,
          actor: null,
          reason: null,
          data: {},
        },
      ],
    });
    const db = await store.database();
    expect(() => db.prepare("UPDATE audit_events SET reason = 'x' WHERE seq = 1").run()).toThrowError(/append-only/);
    expect(() => db.prepare('DELETE FROM audit_events').run()).toThrowError(/append-only/);
    expect(await store.listAudit({})).toHaveLength(1);
  });

  it('hashes audit data as stored, so values JSON cannot keep (Date, undefined) do not break the chain', async () => {
    const store = memoryStore();
    const data = { when: new Date(T0), gone: undefined, list: [1, undefined] } as unknown as Record<string, unknown>;
    await store.commit({
      at: T0,
      audit: [{ at: T0, type: 'x', clientId: null, keyId: null, fingerprint: null, rotationId: null, actor: null, reason: null, data }],
    });
    const rows = await store.listAudit({});
    expect(rows[0]?.data).toEqual({ when: new Date(T0).toISOString(), list: [1, null] });
    expect(verifyAuditRows(rows)).toMatchObject({ ok: true, count: 1 });
  });

  it('logs every key insert, update and delete in key_changes, in the same transaction, but not last-used bookkeeping', async () => {
    const store = memoryStore();
    const db = await store.database();
    const changes = () => db.prepare('SELECT key_hash AS keyHash, status, version FROM key_changes ORDER BY seq').all();
    const key = makeKeyRecord({ status: 'revoked' });
    await store.commit({ at: T0, insertKeys: [key] });
    await store.commit({ at: T0, updateKeys: [{ id: key.id, expectedVersion: 1, patch: { revokedReason: 'x' } }] });
    await store.touchLastUsed([{ id: key.id, at: T0 + 1 }]);
    await store.commit({ at: T0, deleteKeys: [{ id: key.id, expectedVersion: 2 }] });
    await expect(
      store.commit({ at: T0, insertKeys: [makeKeyRecord()], updateKeys: [{ id: key.id, expectedVersion: 9, patch: {} }] }),
    ).rejects.toMatchObject({
      code: ErrorCodes.CONFLICT,
    });
    expect(changes()).toEqual([
      { keyHash: key.keyHash, status: 'revoked', version: 1 },
      { keyHash: key.keyHash, status: 'revoked', version: 2 },
      { keyHash: key.keyHash, status: 'deleted', version: 2 },
    ]);
  });

  it('says which rule a conflict broke', async () => {
    const store = memoryStore();
    await store.commit({ at: T0, insertKeys: [makeKeyRecord({ status: 'pending' })] });
    await expect(store.commit({ at: T0, insertKeys: [makeKeyRecord({ status: 'pending' })] })).rejects.toMatchObject({
      code: ErrorCodes.CONFLICT,
      message: expect.stringContaining('already has a pending key'),
    });
    const old = makeKeyRecord({ clientId: 'b' });
    const r1 = makeRotationRecord(old, old, { idempotencyKey: 't' });
    await store.commit({ at: T0, insertRotations: [r1] });
    await expect(store.commit({ at: T0, insertRotations: [makeRotationRecord(old, old)] })).rejects.toThrowError(/rotation in progress/);
    await expect(
      store.commit({ at: T0, insertRotations: [makeRotationRecord(old, old, { state: 'completed', idempotencyKey: 't' })] }),
    ).rejects.toThrowError(/idempotency key was already used/);
    await expect(store.commit({ at: T0, updateKeys: [{ id: randomUUID(), expectedVersion: 1, patch: {} }] })).rejects.toThrowError(
      /no longer exists/,
    );
  });

  it('refuses a patch field a store must not change', async () => {
    const store = memoryStore();
    const key = makeKeyRecord();
    await store.commit({ at: T0, insertKeys: [key] });
    await expect(
      store.commit({ at: T0, updateKeys: [{ id: key.id, expectedVersion: 1, patch: { keyHash: 'x' } as never }] }),
    ).rejects.toMatchObject({
      code: ErrorCodes.INVALID_ARGUMENT,
      message: expect.stringContaining('"keyHash"'),
    });
  });

  it('rejects every call after close, and close is idempotent', async () => {
    const store = memoryStore();
    await store.ready();
    await store.close();
    await store.close();
    await expect(store.findKeyById('x')).rejects.toMatchObject({
      code: ErrorCodes.UNAVAILABLE,
      message: expect.stringContaining('closed'),
    });
  });
});

describe('a caller-provided database', () => {
  it('is used as is and never closed by the store', async () => {
    const db = rawMemory();
    const store = memoryStore({ database: db });
    await store.commit({ at: T0, insertKeys: [makeKeyRecord()] });
    await store.close();
    expect(db.open).toBe(true);
    expect(db.prepare('SELECT count(*) AS n FROM keys').get()).toEqual({ n: 1 });
  });

  it('migrates idempotently: a second store and migrate() find nothing to do', async () => {
    const db = rawMemory();
    expect(await migrate({ database: db })).toEqual({ from: 0, to: SCHEMA_VERSION, applied: MIGRATIONS.map((m) => m.version) });
    expect(await migrate({ database: db })).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION, applied: [] });
    await memoryStore({ database: db }).ready();
    expect(db.prepare('SELECT count(*) AS n FROM keyward_migrations').get()).toEqual({ n: MIGRATIONS.length });
  });

  it('upgrades a version 2 database holding keys, rotations, audit rows and notices to the console tables, keeping every row', async () => {
    // A version 2 database as the previous release left it.
    const db = rawMemory();
    db.exec('CREATE TABLE keyward_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT');
    for (const step of MIGRATIONS.filter((m) => m.version <= 2)) {
      db.exec(step.sql);
      db.prepare('INSERT INTO keyward_migrations (version, name, applied_at) VALUES (?, ?, 0)').run(step.version, step.name);
    }
    const old = makeKeyRecord({ clientId: 'acme', lastUsedAt: 7 });
    const pending = makeKeyRecord({ clientId: 'acme', status: 'pending' });
    const rotation = makeRotationRecord(old, pending);
    const other = makeKeyRecord({ clientId: 'globex', status: 'revoked' });
    // Rows written by a store that takes the schema for current (it touches only version 1-2 tables).
    const pretend = db.prepare("INSERT INTO keyward_migrations (version, name, applied_at) VALUES (?, 'pretend current', 0)");
    pretend.run(SCHEMA_VERSION);
    const writer = memoryStore({ database: db, migrate: false });
    await writer.commit({
      at: T0,
      insertKeys: [old, pending, other],
      insertRotations: [rotation],
      audit: [
        {
          at: T0,
          type: 'key.issued',
          clientId: 'acme',
          keyId: old.id,
          fingerprint: null,
          rotationId: null,
          actor: 'cli',
          reason: null,
          data: {},
        },
      ],
    });
    expect(await writer.claimNotice(old.id, 'expiring:3d', T0)).toBe(true);
    await writer.close();
    db.prepare('DELETE FROM keyward_migrations WHERE version > 2').run();

    await expect(memoryStore({ database: db, migrate: false }).listKeys({})).rejects.toThrowError(
      /schema version 2, but this @keyward\/sqlite needs/,
    );
    expect(await migrate({ database: db })).toEqual({
      from: 2,
      to: SCHEMA_VERSION,
      applied: MIGRATIONS.filter((m) => m.version > 2).map((m) => m.version),
    });
    const store = memoryStore({ database: db, migrate: false });
    expect(await store.findKeyById(old.id)).toEqual(old);
    expect(await store.findRotation(rotation.id)).toEqual(rotation);
    expect((await store.listAudit({})).map((a) => [a.type, a.clientId])).toEqual([['key.issued', 'acme']]);
    expect(await store.claimNotice(old.id, 'expiring:3d', T0)).toBe(false);
    expect((await store.listClients({ limit: 10 })).clients).toEqual([
      { clientId: 'acme', counts: { pending: 1, active: 1, inactive: 0, revoked: 0 }, nextExpiry: old.expiresAt, lastUsedAt: 7 },
      { clientId: 'globex', counts: { pending: 0, active: 0, inactive: 0, revoked: 1 }, nextExpiry: null, lastUsedAt: null },
    ]);
    await store.addUsage([{ keyId: old.id, hour: T0, valid: 1, grace: 2 }]);
    expect(await store.listUsage({ keyIds: [old.id], since: T0 })).toEqual([{ keyId: old.id, hour: T0, valid: 1, grace: 2 }]);
    const indexes = (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index'").all() as { name: string }[]).map((r) => r.name);
    expect(indexes).toEqual(expect.arrayContaining(['key_usage_hour_idx', 'keys_client_status_idx', 'rotations_state_created_idx']));
  });

  it('refuses a schema newer than the code, saying so', async () => {
    const db = rawMemory();
    await migrate({ database: db });
    db.prepare("INSERT INTO keyward_migrations (version, name, applied_at) VALUES (?, 'future', 0)").run(SCHEMA_VERSION + 1);
    const store = memoryStore({ database: db });
    await expect(store.listKeys({})).rejects.toMatchObject({
      code: ErrorCodes.UNAVAILABLE,
      message: expect.stringMatching(
        new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than this @keyward/sqlite supports \\(${SCHEMA_VERSION}\\)`),
      ),
    });
    await expect(migrate({ database: db })).rejects.toThrowError(/newer than this @keyward\/sqlite supports/);
  });

  it('refuses a database whose tables keyward did not create', async () => {
    const db = rawMemory();
    db.exec('CREATE TABLE keys (name TEXT)');
    await expect(memoryStore({ database: db }).ready()).rejects.toMatchObject({
      code: ErrorCodes.UNAVAILABLE,
      message: expect.stringContaining('is not a keyward database: it already has table(s) "keys"'),
    });
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'keyward_migrations'").get()).toEqual({ n: 0 });
  });

  it('with migrate: false, refuses an unmigrated schema until migrate() runs', async () => {
    const db = rawMemory();
    const store = memoryStore({ database: db, migrate: false });
    await expect(store.listKeys({})).rejects.toMatchObject({
      code: ErrorCodes.UNAVAILABLE,
      message: expect.stringContaining('run migrate()'),
    });
    expect(await store.migrate()).toMatchObject({ from: 0, applied: MIGRATIONS.map((m) => m.version) });
    expect(await store.listKeys({})).toEqual([]);
  });
});
