import { ErrorCodes, type KeyRecord } from '@keyward/core';
import { makeKeyRecord, makeRotationRecord, runKeyStoreContract } from '@keyward/core/testing';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresStore } from './postgres-store.js';
import { MIGRATIONS } from './schema-sql.js';
import { adminQuery, dropSchema, randomSchema, testPool, testUrl, waitFor } from './test-db.js';

runKeyStoreContract('PostgresStore', async () => {
  const schema = randomSchema();
  return { store: new PostgresStore({ connectionString: testUrl(), schema }), cleanup: () => dropSchema(schema) };
});

const T0 = Date.UTC(2026, 0, 1);

describe('PostgresStore on the real database', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function freshStore(): Promise<{ store: PostgresStore; schema: string }> {
    const schema = randomSchema();
    const store = new PostgresStore({ connectionString: testUrl(), schema });
    cleanups.push(
      () => dropSchema(schema),
      () => store.close(),
    );
    await store.migrate();
    return { store, schema };
  }

  it('enforces one pending key per client and one open rotation per client in the database itself', async () => {
    const { store, schema } = await freshStore();
    const old = makeKeyRecord();
    const pending = makeKeyRecord({ status: 'pending' });
    await store.commit({ at: T0, insertKeys: [old, pending], insertRotations: [makeRotationRecord(old, pending)] });
    // Straight SQL, bypassing the store's code: the constraints still say no.
    await expect(adminQuery(`UPDATE "${schema}".keys SET status = 'pending' WHERE id = $1`, [old.id])).rejects.toMatchObject({
      code: '23505',
      constraint: 'keys_one_pending_per_client',
    });
    await expect(
      adminQuery(
        `INSERT INTO "${schema}".rotations (id, client_id, old_key_id, new_key_id, state, grace_until, created_at, updated_at, version)
         VALUES ('r2', 'acme', 'a', 'b', 'started', 0, 0, 0, 1)`,
      ),
    ).rejects.toMatchObject({ code: '23505', constraint: 'rotations_one_open_per_client' });
    const constraints = await adminQuery<{ indexname: string }>(
      `SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND indexdef LIKE 'CREATE UNIQUE INDEX%' ORDER BY indexname`,
      [schema],
    );
    expect(constraints.map((r) => r.indexname)).toEqual(
      expect.arrayContaining([
        'keys_key_hash_key',
        'keys_one_pending_per_client',
        'rotations_idempotency_key',
        'rotations_one_open_per_client',
      ]),
    );
  });

  it('maps a conflict to KEYWARD_CONFLICT without leaking the key hash', async () => {
    const { store } = await freshStore();
    const key = makeKeyRecord();
    await store.commit({ at: T0, insertKeys: [key] });
    const error = await store.commit({ at: T0, insertKeys: [makeKeyRecord({ keyHash: key.keyHash })] }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCodes.CONFLICT, details: { constraint: 'keys_key_hash_key' } });
    expect(String((error as Error).message)).not.toContain(key.keyHash);
  });

  it('keeps the audit log append-only: UPDATE, DELETE and TRUNCATE are refused by the database', async () => {
    const { store, schema } = await freshStore();
    await store.commit({
      at: T0,
      audit: [
        {
          at: T0,
          type: 'key.issued',
          clientId: 'acme',
          keyId: null,
          fingerprint: null,
          rotationId: null,
          actor: null,
          reason: null,
          data: {},
        },
      ],
    });
    const table = `"${schema}".audit_events`;
    await expect(adminQuery(`UPDATE ${table} SET actor = 'mallory'`)).rejects.toThrow(/append-only/);
    await expect(adminQuery(`DELETE FROM ${table}`)).rejects.toThrow(/append-only/);
    await expect(adminQuery(`TRUNCATE ${table}`)).rejects.toThrow(/append-only/);
    expect(await store.listAudit({})).toMatchObject([{ seq: 1, actor: null }]);
  });

  it('round-trips large millisecond timestamps and odd metadata exactly', async () => {
    const { store } = await freshStore();
    const key = makeKeyRecord({
      createdAt: 8_640_000_000_000_000,
      expiresAt: 1,
      lastUsedAt: 0,
      statusChangedAt: 1_767_225_600_123,
      updatedAt: 1_767_225_600_999,
      scopes: [],
      metadata: { 'quote"d': "it's", unicode: 'ключ ✓', n: -1.5, list: [null, true, { deep: [] }] },
    });
    await store.commit({ at: T0, insertKeys: [key] });
    expect(await store.findKeyByHash(key.keyHash)).toEqual(key);
  });

  it('matches fingerprint prefixes literally (LIKE wildcards are escaped)', async () => {
    const { store } = await freshStore();
    const key = makeKeyRecord();
    await store.commit({ at: T0, insertKeys: [key] });
    expect(await store.findKeysByFingerprint('%')).toEqual([]);
    expect(await store.findKeysByFingerprint('_')).toEqual([]);
    expect(await store.findKeysByFingerprint('')).toEqual([key]);
  });

  it('touchLastUsed takes the latest time when an id appears twice in one batch', async () => {
    const { store } = await freshStore();
    const key = makeKeyRecord();
    await store.commit({ at: T0, insertKeys: [key] });
    await store.touchLastUsed([
      { id: key.id, at: T0 + 3 },
      { id: key.id, at: T0 + 9 },
      { id: key.id, at: T0 + 1 },
    ]);
    expect(await store.findKeyById(key.id)).toMatchObject({ lastUsedAt: T0 + 9, version: 1, updatedAt: key.updatedAt });
  });

  it('notifies every touched key hash inside the commit, and nothing for a rolled-back commit', async () => {
    const { store, schema } = await freshStore();
    const listener = new pg.Client({ connectionString: testUrl() });
    listener.on('error', () => {});
    await listener.connect();
    cleanups.push(() => listener.end());
    const heard: string[] = [];
    listener.on('notification', (m) => heard.push(`${m.channel}:${m.payload}`));
    await listener.query(`LISTEN "${schema}_changes"`);

    const a = makeKeyRecord();
    const b = makeKeyRecord({ clientId: 'b', status: 'revoked' });
    await store.commit({ at: T0, insertKeys: [a, b] });
    await store.commit({
      at: T0,
      updateKeys: [{ id: a.id, expectedVersion: 1, patch: { status: 'revoked' } }],
      deleteKeys: [{ id: b.id, expectedVersion: 1 }],
    });
    await waitFor(() => heard.length >= 4, 2000, 'four notifications');
    // A failed compare-and-set rolls back, so its notification is never delivered.
    await expect(
      store.commit({ at: T0, updateKeys: [{ id: a.id, expectedVersion: 1, patch: { status: 'inactive' } }] }),
    ).rejects.toMatchObject({
      code: ErrorCodes.CONFLICT,
    });
    await store.commit({ at: T0, insertKeys: [makeKeyRecord({ clientId: 'marker', keyHash: 'f'.repeat(64) })] });
    await waitFor(() => heard.length >= 5, 2000, 'the marker notification');
    const channel = `${schema}_changes`;
    expect(heard).toEqual([
      `${channel}:${a.keyHash}`,
      `${channel}:${b.keyHash}`,
      `${channel}:${a.keyHash}`,
      `${channel}:${b.keyHash}`,
      `${channel}:${'f'.repeat(64)}`,
    ]);
  });

  it('closes only a pool it created', async () => {
    const schema = randomSchema();
    cleanups.push(() => dropSchema(schema));
    const pool = testPool(2);
    cleanups.push(() => pool.end());
    const borrowed = new PostgresStore({ pool, schema });
    await borrowed.listKeys({});
    await borrowed.close();
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);

    const owning = new PostgresStore({ connectionString: testUrl(), schema });
    await owning.listKeys({});
    await owning.close();
    await owning.close();
    await expect(owning.listKeys({})).rejects.toMatchObject({ code: ErrorCodes.UNAVAILABLE });
  });

  it('starts no work in the constructor and shares one setup between concurrent first calls', async () => {
    const schema = randomSchema();
    cleanups.push(() => dropSchema(schema));
    const store = new PostgresStore({ connectionString: testUrl(), schema });
    cleanups.push(() => store.close());
    expect(await adminQuery('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).toEqual([]);
    const results = await Promise.all(Array.from({ length: 8 }, () => store.listKeys({})));
    expect(results).toEqual(Array.from({ length: 8 }, () => [] as KeyRecord[]));
    expect(await adminQuery(`SELECT version FROM "${schema}".schema_migrations`)).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
  });
});
