import { ErrorCodes, hashKey } from '@keyward/core';
import { makeKeyRecord, makeRotationRecord } from '@keyward/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate, PostgresStore } from './postgres-store.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema-sql.js';
import { schemaNames } from './sql.js';
import { adminQuery, dropSchema, randomSchema, testUrl } from './test-db.js';

describe('PostgresStore migrations', () => {
  let schema: string;
  const stores: PostgresStore[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await dropSchema(schema);
  });

  function store(options: { migrate?: boolean } = {}): PostgresStore {
    const s = new PostgresStore({ connectionString: testUrl(), schema, ...options });
    stores.push(s);
    return s;
  }

  async function versions(): Promise<number[]> {
    return (await adminQuery<{ version: number }>(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`)).map(
      (r) => r.version,
    );
  }

  it('applies every step once and is idempotent', async () => {
    schema = randomSchema();
    expect(await store().migrate()).toEqual({ from: 0, to: SCHEMA_VERSION, applied: MIGRATIONS.map((m) => m.version) });
    expect(await store().migrate()).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION, applied: [] });
    expect(await migrate({ connectionString: testUrl(), schema })).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION, applied: [] });
    expect(await versions()).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('is safe when many processes start at once on a new schema', async () => {
    schema = randomSchema();
    const starters = Array.from({ length: 8 }, () => store());
    const reports = await Promise.all(starters.map((s) => s.migrate()));
    expect(reports.filter((r) => r.applied.length > 0)).toHaveLength(1);
    expect(await versions()).toEqual(MIGRATIONS.map((m) => m.version));
    // Lazy start from several stores at once works too (every one of them can read).
    const more = Array.from({ length: 4 }, () => store());
    await Promise.all(more.map((s) => s.listKeys({})));
  });

  it('refuses a database whose schema is newer than the code, with a clear message', async () => {
    schema = randomSchema();
    await store().migrate();
    await adminQuery(`INSERT INTO "${schema}".schema_migrations (version, name) VALUES (999, 'from the future')`);
    const late = store();
    const error = await late.listKeys({}).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCodes.UNAVAILABLE, details: { schemaVersion: 999, codeVersion: SCHEMA_VERSION } });
    expect((error as Error).message).toMatch(new RegExp(`version 999, newer than this code supports \\(${SCHEMA_VERSION}\\)`));
    await expect(late.migrate()).rejects.toThrow(/newer than this code supports/);
    await expect(store({ migrate: false }).findKeyById('x')).rejects.toThrow(/newer than this code supports/);
  });

  it('with migrate: false, checks the schema instead of changing it', async () => {
    schema = randomSchema();
    const manual = store({ migrate: false });
    await expect(manual.listKeys({})).rejects.toThrow(
      new RegExp(`is at version 0, this code needs ${SCHEMA_VERSION}; run store.migrate\\(\\)`),
    );
    expect(await adminQuery('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).toEqual([]);
    await manual.migrate();
    expect(await manual.listKeys({})).toEqual([]);
  });

  it('upgrades a version 1 schema holding keys to the change log, which then logs every change', async () => {
    schema = randomSchema();
    const n = schemaNames(schema);
    await adminQuery(`CREATE SCHEMA "${schema}"`);
    await adminQuery(
      `CREATE TABLE ${n.migrations} (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    for (const statement of (MIGRATIONS[0] as (typeof MIGRATIONS)[number]).statements(n)) await adminQuery(statement);
    await adminQuery(`INSERT INTO ${n.migrations} (version, name) VALUES (1, 'v1')`);
    const old = makeKeyRecord({ keyHash: hashKey('sk_test_old') });
    const s = store();
    await expect(store({ migrate: false }).listKeys({})).rejects.toThrow(new RegExp(`is at version 1, this code needs ${SCHEMA_VERSION}`));
    expect(await s.migrate()).toEqual({ from: 1, to: SCHEMA_VERSION, applied: MIGRATIONS.slice(1).map((m) => m.version) });
    await s.commit({ at: 1, insertKeys: [old] });
    await s.commit({ at: 2, updateKeys: [{ id: old.id, expectedVersion: 1, patch: { status: 'revoked' } }] });
    const page = await s.readChanges({ afterSeq: 0, limit: 10 });
    expect(page.changes.map((c) => [c.seq, c.status, c.version])).toEqual([
      [1, 'active', 1],
      [2, 'revoked', 2],
    ]);
  });

  it('upgrades a version 3 schema holding keys, rotations, audit rows and notices to the console tables, keeping every row', async () => {
    schema = randomSchema();
    const n = schemaNames(schema);
    // A version 3 database as the previous release left it, written by that release's store.
    await adminQuery(`CREATE SCHEMA "${schema}"`);
    await adminQuery(
      `CREATE TABLE ${n.migrations} (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    for (const step of MIGRATIONS.filter((m) => m.version <= 3)) {
      for (const statement of step.statements(n)) await adminQuery(statement);
      await adminQuery(`INSERT INTO ${n.migrations} (version, name) VALUES ($1, $2)`, [step.version, step.name]);
    }
    const old = makeKeyRecord({ clientId: 'acme', lastUsedAt: 7 });
    const pending = makeKeyRecord({ clientId: 'acme', status: 'pending' });
    const rotation = makeRotationRecord(old, pending);
    const other = makeKeyRecord({ clientId: 'globex', status: 'revoked' });
    const writer = store();
    // Write through a store that believes the schema is current: only v1-v3 columns are touched.
    await adminQuery(`DELETE FROM ${n.migrations} WHERE version > 3`);
    await adminQuery(`INSERT INTO ${n.migrations} (version, name) VALUES ($1, 'pretend current')`, [SCHEMA_VERSION]);
    await writer.commit({
      at: 1,
      insertKeys: [old, pending, other],
      insertRotations: [rotation],
      audit: [
        {
          at: 1,
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
    expect(await writer.claimNotice(old.id, 'expiring:3d', 1)).toBe(true);
    await adminQuery(`DELETE FROM ${n.migrations} WHERE version > 3`);
    await writer.close();

    await expect(store({ migrate: false }).listKeys({})).rejects.toThrow(new RegExp(`is at version 3, this code needs ${SCHEMA_VERSION}`));
    const s = store();
    expect(await s.migrate()).toEqual({
      from: 3,
      to: SCHEMA_VERSION,
      applied: MIGRATIONS.filter((m) => m.version > 3).map((m) => m.version),
    });
    expect(await s.findKeyById(old.id)).toEqual(old);
    expect(await s.findRotation(rotation.id)).toEqual(rotation);
    expect((await s.listAudit({})).map((a) => [a.type, a.clientId])).toEqual([['key.issued', 'acme']]);
    expect(await s.claimNotice(old.id, 'expiring:3d', 2)).toBe(false);
    // The console's reads see the old rows; the new table takes usage.
    const page = await s.listClients({ limit: 10 });
    expect(page.clients).toEqual([
      { clientId: 'acme', counts: { pending: 1, active: 1, inactive: 0, revoked: 0 }, nextExpiry: old.expiresAt, lastUsedAt: 7 },
      { clientId: 'globex', counts: { pending: 0, active: 0, inactive: 0, revoked: 1 }, nextExpiry: null, lastUsedAt: null },
    ]);
    expect((await s.listRotationsPage({ state: ['delivered'], limit: 10 })).map((r) => r.id)).toEqual([rotation.id]);
    await s.addUsage([{ keyId: old.id, hour: 0, valid: 1, grace: 0 }]);
    expect(await s.listUsage({ keyIds: [old.id], since: 0 })).toEqual([{ keyId: old.id, hour: 0, valid: 1, grace: 0 }]);
    const indexes = await adminQuery<{ indexname: string }>('SELECT indexname FROM pg_indexes WHERE schemaname = $1', [schema]);
    expect(indexes.map((r) => r.indexname)).toEqual(
      expect.arrayContaining(['key_usage_pkey', 'key_usage_hour_idx', 'keys_client_binary_idx', 'rotations_state_created_idx']),
    );
  });

  it('completes the version 4 step when part of it already exists (its statements are idempotent)', async () => {
    schema = randomSchema();
    const n = schemaNames(schema);
    await store().migrate();
    const v4 = MIGRATIONS.find((m) => m.version === 4);
    if (v4 === undefined) throw new Error('no version 4 step');
    // Run again over a finished schema, as a half-applied run retried by hand would: nothing fails.
    for (const statement of v4.statements(n)) await adminQuery(statement);
    await adminQuery(`DROP INDEX ${n.quoted}.keys_client_binary_idx`);
    await adminQuery(`DELETE FROM ${n.migrations} WHERE version = 4`);
    expect(await store().migrate()).toEqual({ from: 3, to: SCHEMA_VERSION, applied: [4] });
    expect(
      await adminQuery('SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = $2', [schema, 'keys_client_binary_idx']),
    ).toHaveLength(1);
  });

  it('a key written by a plain SQL script is logged too, and commits are numbered in commit order', async () => {
    schema = randomSchema();
    const s = store();
    await s.migrate();
    const n = schemaNames(schema);
    const a = makeKeyRecord();
    const b = makeKeyRecord({ clientId: 'b' });
    await s.commit({ at: 1, insertKeys: [a, b] });
    const { default: pg } = await import('pg');
    const first = new pg.Client({ connectionString: testUrl() });
    const second = new pg.Client({ connectionString: testUrl() });
    await Promise.all([first.connect(), second.connect()]);
    try {
      await first.query('BEGIN');
      await first.query(`UPDATE ${n.keys} SET status = 'revoked', version = version + 1 WHERE id = $1`, [a.id]);
      // The second writer must wait for the first to commit before it gets a number.
      let secondDone = false;
      const late = second.query(`UPDATE ${n.keys} SET status = 'inactive', version = version + 1 WHERE id = $1`, [b.id]).then(() => {
        secondDone = true;
      });
      await new Promise((r) => setTimeout(r, 300));
      expect(secondDone).toBe(false);
      await first.query('COMMIT');
      await late;
    } finally {
      await Promise.all([first.end(), second.end()]);
    }
    const page = await s.readChanges({ afterSeq: 2, limit: 10 });
    expect(page.changes.map((c) => [c.seq, c.keyHash, c.status])).toEqual([
      [3, a.keyHash, 'revoked'],
      [4, b.keyHash, 'inactive'],
    ]);
  });
});
