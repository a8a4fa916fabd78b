import { ErrorCodes } from '@keyward/core';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate, PostgresStore } from './postgres-store.js';
import { SCHEMA_VERSION } from './schema-sql.js';
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
    expect(await store().migrate()).toEqual({ from: 0, to: SCHEMA_VERSION, applied: [1] });
    expect(await store().migrate()).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION, applied: [] });
    expect(await migrate({ connectionString: testUrl(), schema })).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION, applied: [] });
    expect(await versions()).toEqual([1]);
  });

  it('is safe when many processes start at once on a new schema', async () => {
    schema = randomSchema();
    const starters = Array.from({ length: 8 }, () => store());
    const reports = await Promise.all(starters.map((s) => s.migrate()));
    expect(reports.filter((r) => r.applied.length > 0)).toHaveLength(1);
    expect(await versions()).toEqual([1]);
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
    expect((error as Error).message).toMatch(/version 999, newer than this code supports \(1\)/);
    await expect(late.migrate()).rejects.toThrow(/newer than this code supports/);
    await expect(store({ migrate: false }).findKeyById('x')).rejects.toThrow(/newer than this code supports/);
  });

  it('with migrate: false, checks the schema instead of changing it', async () => {
    schema = randomSchema();
    const manual = store({ migrate: false });
    await expect(manual.listKeys({})).rejects.toThrow(/is at version 0, this code needs 1; run store.migrate\(\)/);
    expect(await adminQuery('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).toEqual([]);
    await manual.migrate();
    expect(await manual.listKeys({})).toEqual([]);
  });
});
