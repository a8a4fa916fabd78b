import { ErrorCodes, KeywardError } from '@keyward/core';
import { describe, expect, it } from 'vitest';
import { PostgresStore } from './postgres-store.js';
import { randomSchema, testUrlWith } from './test-db.js';

const SECRET = 'hunter2-s3cret';

async function startError(connectionString: string): Promise<KeywardError> {
  const store = new PostgresStore({ connectionString, schema: randomSchema() });
  try {
    const error = await store.listKeys({}).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KeywardError);
    return error as KeywardError;
  } finally {
    await store.close();
  }
}

describe('PostgresStore start-up errors', () => {
  it('database down (nothing listening on the port): KEYWARD_UNAVAILABLE naming the target, password masked', async () => {
    const error = await startError(testUrlWith({ port: '1', user: 'app', password: SECRET }));
    expect(error.code).toBe(ErrorCodes.UNAVAILABLE);
    expect(error.message).toMatch(/connecting failed for PostgreSQL at app@127\.0\.0\.1:1\/test: connection refused/);
    expect(JSON.stringify({ m: error.message, d: error.details })).not.toContain(SECRET);
  });

  it('unknown database: says so', async () => {
    const error = await startError(testUrlWith({ database: 'keyward_no_such_db', password: SECRET }));
    expect(error.code).toBe(ErrorCodes.UNAVAILABLE);
    expect(error.message).toMatch(/unknown database \(database "keyward_no_such_db" does not exist\)/);
    expect(error.message).not.toContain(SECRET);
  });

  it('unknown user (with a password): authentication rejected, password masked', async () => {
    const error = await startError(testUrlWith({ user: 'keyward_no_such_user', password: SECRET }));
    expect(error.code).toBe(ErrorCodes.UNAVAILABLE);
    expect(error.message).toMatch(/keyward_no_such_user@127\.0\.0\.1:5432\/test: authentication rejected/);
    expect(error.message).toMatch(/role "keyward_no_such_user" does not exist/);
    expect(error.message).not.toContain(SECRET);
  });

  it('a malformed URL is refused at construction, password masked', () => {
    const bad = [`postgres://app:${SECRET}@127.0.0.1:notaport/test`, 'not a url at all', `mysql://app:${SECRET}@localhost/db`];
    for (const connectionString of bad) {
      let caught: unknown;
      try {
        new PostgresStore({ connectionString });
      } catch (e) {
        caught = e;
      }
      expect(caught).toMatchObject({ code: ErrorCodes.INVALID_OPTION, details: { option: 'connectionString' } });
      expect((caught as Error).message).toMatch(/@keyward\/postgres: option "connectionString"/);
      expect((caught as Error).message).not.toContain(SECRET);
    }
  });

  it('retries set-up on the next call after a failed start', async () => {
    const store = new PostgresStore({ connectionString: testUrlWith({ port: '1' }), schema: randomSchema() });
    const first = await store.listKeys({}).catch((e: unknown) => e);
    const second = await store.findKeyById('x').catch((e: unknown) => e);
    expect(first).not.toBe(second);
    expect(second).toMatchObject({ code: ErrorCodes.UNAVAILABLE });
    await store.close();
  });
});
