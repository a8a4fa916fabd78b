import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCodes } from '@keyward/core';
import { makeKeyRecord, runKeyStoreContract } from '@keyward/core/testing';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrate } from './migrate-api.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';
import { SqliteStore } from './sqlite-store.js';

runKeyStoreContract('SqliteStore (file, WAL)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-sqlite-contract-'));
  return { store: new SqliteStore({ path: join(dir, 'keys.db') }), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

const T0 = Date.UTC(2026, 0, 1);

describe('SqliteStore on a file', () => {
  let dir: string;
  let file: string;
  const opened: { close(): unknown }[] = [];
  const store = (options: Partial<ConstructorParameters<typeof SqliteStore>[0] & object> = {}) => {
    const s = new SqliteStore({ path: file, ...options } as never);
    opened.push(s);
    return s;
  };
  const raw = (path = file) => {
    const db = new Database(path);
    opened.push(db);
    return db;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'keyward-sqlite-'));
    file = join(dir, 'keys.db');
  });
  afterEach(async () => {
    for (const o of opened.splice(0).reverse()) await o.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs in WAL mode with foreign keys and the busy timeout set', async () => {
    const db = await store({ busyTimeout: 1234 }).database();
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(1234);
    expect(raw().pragma('journal_mode', { simple: true })).toBe('wal');
  });

  it('opens the same file through file: and sqlite: URLs', async () => {
    const key = makeKeyRecord();
    await store().commit({ at: T0, insertKeys: [key] });
    expect(await store({ path: pathToFileURL(file).href }).findKeyById(key.id)).toEqual(key);
    expect(await store({ path: `sqlite://${file}` }).findKeyById(key.id)).toEqual(key);
  });

  it('lets two stores on one file see each other and enforce the rules between them', async () => {
    const a = store();
    const b = store();
    const key = makeKeyRecord();
    await a.commit({ at: T0, insertKeys: [key] });
    expect(await b.findKeyByHash(key.keyHash)).toEqual(key);
    await b.commit({ at: T0 + 1, updateKeys: [{ id: key.id, expectedVersion: 1, patch: { status: 'revoked', revokedAt: T0 + 1 } }] });
    expect(await a.findKeyById(key.id)).toMatchObject({ status: 'revoked', version: 2 });
    await expect(a.commit({ at: T0, updateKeys: [{ id: key.id, expectedVersion: 1, patch: { scopes: [] } }] })).rejects.toMatchObject({
      code: ErrorCodes.CONFLICT,
      message: expect.stringContaining('expected version 1, found 2'),
    });
    await a.commit({ at: T0, insertKeys: [makeKeyRecord({ status: 'pending' })] });
    await expect(b.commit({ at: T0, insertKeys: [makeKeyRecord({ status: 'pending' })] })).rejects.toMatchObject({
      code: ErrorCodes.CONFLICT,
    });
    await a.commit({
      at: T0,
      audit: [{ at: T0, type: 'a', clientId: null, keyId: null, fingerprint: null, rotationId: null, actor: null, reason: null, data: {} }],
    });
    await b.commit({
      at: T0,
      audit: [{ at: T0, type: 'b', clientId: null, keyId: null, fingerprint: null, rotationId: null, actor: null, reason: null, data: {} }],
    });
    expect((await a.listAudit({})).map((r) => [r.seq, r.type])).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
  });

  it('keeps data across a restart and migrates idempotently', async () => {
    const key = makeKeyRecord();
    const first = store();
    await first.commit({ at: T0, insertKeys: [key] });
    await first.close();
    expect(await migrate(file)).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION, applied: [] });
    const second = store({ migrate: false });
    expect(await second.findKeyById(key.id)).toEqual(key);
    expect(raw().prepare('SELECT version FROM keyward_migrations').all()).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
  });

  it('migrates a fresh file once when several stores start at the same time', async () => {
    const all = Array.from({ length: 5 }, () => store());
    await Promise.all(all.map((s) => s.ready()));
    expect(raw().prepare('SELECT count(*) AS n FROM keyward_migrations').get()).toEqual({ n: MIGRATIONS.length });
  });

  it('refuses a file whose schema is newer, naming the path and both versions, and changes nothing', async () => {
    await store().ready();
    raw()
      .prepare("INSERT INTO keyward_migrations (version, name, applied_at) VALUES (?, 'future', 0)")
      .run(SCHEMA_VERSION + 3);
    const error = await store()
      .listKeys({})
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCodes.UNAVAILABLE, details: { path: file, schemaVersion: SCHEMA_VERSION + 3 } });
    expect((error as Error).message).toContain(JSON.stringify(file));
    expect((error as Error).message).toMatch(
      new RegExp(`schema version ${SCHEMA_VERSION + 3}, newer than this @keyward/sqlite supports \\(${SCHEMA_VERSION}\\)`),
    );
  });

  it('names the path when its directory does not exist, and works once it does', async () => {
    const missing = join(dir, 'not-yet', 'keys.db');
    const s = store({ path: missing });
    const error = await s.listKeys({}).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCodes.UNAVAILABLE });
    expect((error as Error).message).toMatch(/^@keyward\/sqlite: cannot open database ".*not-yet\/keys\.db": .*directory does not exist/);
    rmSync(join(dir, 'not-yet'), { force: true, recursive: true });
    (await import('node:fs')).mkdirSync(join(dir, 'not-yet'));
    expect(await s.listKeys({})).toEqual([]);
  });

  it('names the path when the file is not a database', async () => {
    writeFileSync(file, 'hello, I am a text file and certainly not SQLite\n'.repeat(20));
    const error = await store()
      .findKeyByHash('0'.repeat(64))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCodes.UNAVAILABLE, details: { path: file, sqliteCode: 'SQLITE_NOTADB' } });
    expect((error as Error).message).toBe(
      `@keyward/sqlite: cannot open database ${JSON.stringify(file)}: file is not a database (SQLITE_NOTADB)`,
    );
  });

  it('refuses a SQLite file that belongs to something else', async () => {
    raw().exec('CREATE TABLE rotations (x INTEGER); CREATE TABLE audit_events (y TEXT)');
    await expect(store().ready()).rejects.toMatchObject({
      code: ErrorCodes.UNAVAILABLE,
      message: expect.stringMatching(/is not a keyward database: it already has table\(s\) "rotations", "audit_events"/),
    });
  });

  it('answers KEYWARD_UNAVAILABLE, not a hang, when another process holds the write lock past busyTimeout', async () => {
    const s = store({ busyTimeout: 50 });
    await s.ready();
    const holder = raw();
    holder.exec('BEGIN IMMEDIATE');
    const started = Date.now();
    await expect(s.commit({ at: T0, insertKeys: [makeKeyRecord()] })).rejects.toMatchObject({
      code: ErrorCodes.UNAVAILABLE,
      details: { sqliteCode: 'SQLITE_BUSY' },
    });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await s.listKeys({})).toEqual([]);
    holder.exec('ROLLBACK');
    await s.commit({ at: T0, insertKeys: [makeKeyRecord()] });
    expect(await s.listKeys({})).toHaveLength(1);
  });
});
