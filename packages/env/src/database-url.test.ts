import { describe, expect, it } from 'vitest';
import { parseDatabaseUrl, parseRedisUrl } from './database-url.js';
import { importOptional } from './optional-import.js';

describe('parseDatabaseUrl', () => {
  it('defaults to ./keyward.db and reads SQLite spellings', () => {
    expect(parseDatabaseUrl(undefined)).toEqual({ kind: 'sqlite', path: './keyward.db' });
    expect(parseDatabaseUrl('/var/lib/keys.db')).toEqual({ kind: 'sqlite', path: '/var/lib/keys.db' });
    expect(parseDatabaseUrl('file:///srv/keys.db')).toEqual({ kind: 'sqlite', path: 'file:///srv/keys.db' });
    expect(parseDatabaseUrl('sqlite:./keys.db')).toEqual({ kind: 'sqlite', path: 'sqlite:./keys.db' });
    expect(parseDatabaseUrl(':memory:')).toEqual({ kind: 'sqlite', path: ':memory:' });
  });

  it('refuses a variable that is set but empty (no silent fall-back to ./keyward.db)', () => {
    for (const empty of ['', '  ']) {
      expect(() => parseDatabaseUrl(empty)).toThrow(/@keyward\/env: KEYWARD_DATABASE_URL is set but empty; unset it for the zero-config/);
    }
  });

  it('reads postgres:// and postgresql:// URLs', () => {
    expect(parseDatabaseUrl('postgres://u:p@db:5432/app')).toEqual({ kind: 'postgres', connectionString: 'postgres://u:p@db:5432/app' });
    expect(parseDatabaseUrl('postgresql://db/app').kind).toBe('postgres');
  });

  it('refuses other URLs without ever showing the password', () => {
    const error = (() => {
      try {
        parseDatabaseUrl('mysql://root:hunter2secret@db/app');
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error?.message).toMatch(/@keyward\/env: KEYWARD_DATABASE_URL must be a SQLite path/);
    expect(error?.message).not.toContain('hunter2secret');
    expect(() => parseDatabaseUrl('postgres://u:hunter2secret@[bad')).toThrow(/is not a valid URL/);
    expect(() => parseDatabaseUrl('postgres://u:hunter2secret@[bad')).not.toThrow(/hunter2secret/);
  });
});

describe('parseRedisUrl', () => {
  it('is optional and must be redis:// or rediss://', () => {
    expect(parseRedisUrl(undefined)).toBeUndefined();
    expect(parseRedisUrl('')).toBeUndefined();
    expect(parseRedisUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(parseRedisUrl('rediss://h:6380')).toBe('rediss://h:6380');
    expect(() => parseRedisUrl('http://u:topsecret@h')).toThrow(/KEYWARD_REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(() => parseRedisUrl('http://u:topsecret@h')).not.toThrow(/topsecret/);
    expect(() => parseRedisUrl('nonsense')).toThrow(/KEYWARD_REDIS_URL/);
  });
});

describe('importOptional', () => {
  it('names the missing package and how to install it', async () => {
    const missing = Object.assign(new Error("Cannot find package '@keyward/postgres' imported from x"), { code: 'ERR_MODULE_NOT_FOUND' });
    await expect(
      importOptional('@keyward/postgres', 'a postgres:// KEYWARD_DATABASE_URL', '@keyward/postgres pg', () => Promise.reject(missing)),
    ).rejects.toThrow(
      '@keyward/env: a postgres:// KEYWARD_DATABASE_URL needs the optional package @keyward/postgres; install it with: npm install @keyward/postgres pg',
    );
    const other = new Error('boom');
    await expect(importOptional('@keyward/redis', 'x', '@keyward/redis', () => Promise.reject(other))).rejects.toBe(other);
  });
});
