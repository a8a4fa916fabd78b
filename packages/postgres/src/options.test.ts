import { ErrorCodes } from '@keyward/core';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { PostgresChangeFeed } from './change-feed.js';
import { maskUrl } from './errors.js';
import { PostgresStore } from './postgres-store.js';

function thrown(make: () => unknown): { code?: string; message: string; details?: Record<string, unknown> } {
  try {
    make();
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error('expected a throw');
}

describe('PostgresStore options', () => {
  it.each([['bad-name'], ['1starts_with_digit'], ['pg_catalog'], [''], ['x'.repeat(49)], ['a"; DROP SCHEMA public; --']])(
    'rejects schema %j, naming the option and the value',
    (schema) => {
      const error = thrown(() => new PostgresStore({ schema }));
      expect(error.code).toBe(ErrorCodes.INVALID_OPTION);
      expect(error.message).toContain('@keyward/postgres: option "schema"');
      expect(error.message).toContain(schema.length > 80 ? 'character' : JSON.stringify(schema));
    },
  );

  it('accepts 48-character and mixed-case schema names', async () => {
    await new PostgresStore({ schema: 'A'.repeat(48) }).close();
    await new PostgresStore({ schema: '_Keyward_2' }).close();
  });

  it('rejects pool together with connectionString, a non-pool, a bad logger, a non-boolean migrate', () => {
    const pool = new pg.Pool();
    expect(thrown(() => new PostgresStore({ pool, connectionString: 'postgres://x/y' } as never)).details).toEqual({
      option: 'connectionString',
    });
    expect(thrown(() => new PostgresStore({ pool: {} as pg.Pool })).details).toEqual({ option: 'pool' });
    expect(thrown(() => new PostgresStore({ logger: {} as never })).details).toEqual({ option: 'logger' });
    expect(thrown(() => new PostgresStore({ migrate: 'yes' as never })).details).toEqual({ option: 'migrate' });
    expect(thrown(() => new PostgresStore(null as never)).details).toEqual({ option: 'options' });
  });

  it('never mutates the caller options object', async () => {
    const options = Object.freeze({ connectionString: 'postgres://u:p@127.0.0.1:5432/test', schema: 'keyward', migrate: false });
    const copy = { ...options };
    await new PostgresStore(options).close();
    expect(options).toEqual(copy);
  });

  it('validates change feed durations', () => {
    expect(thrown(() => new PostgresChangeFeed({ reconnect: { minDelay: '5 parsecs' } })).code).toBe(ErrorCodes.INVALID_DURATION);
    expect(thrown(() => new PostgresChangeFeed({ healthCheckInterval: -1 })).code).toBe(ErrorCodes.INVALID_DURATION);
    expect(thrown(() => new PostgresChangeFeed({ schema: 'no spaces' })).details).toEqual({ option: 'schema' });
  });
});

describe('maskUrl', () => {
  it.each([
    ['postgres://app:secret@db:5432/x', 'postgres://app:***@db:5432/x'],
    ['postgresql://app:p%40ss:w@db/x', 'postgresql://app:***@db/x'],
    ['postgres://app@db/x', 'postgres://app@db/x'],
    ['postgres://db/x', 'postgres://db/x'],
    ['app:secret@db', 'app:***@db'],
    ['not a url', 'not a url'],
  ])('%s -> %s', (input, output) => {
    expect(maskUrl(input)).toBe(output);
  });
});
