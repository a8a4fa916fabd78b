import { invalidEnv, safeUrl } from './errors.js';

/** Where keyward keeps its keys, decided from `KEYWARD_DATABASE_URL`. */
export type DatabaseTarget =
  | { readonly kind: 'sqlite'; readonly path: string }
  | { readonly kind: 'postgres'; readonly connectionString: string };

export const DEFAULT_DATABASE = './keyward.db';

/**
 * Reads `KEYWARD_DATABASE_URL`: a `postgres://`/`postgresql://` URL means
 * PostgreSQL; a plain path, `:memory:`, or a `file:`/`sqlite:` URL means SQLite;
 * unset means `./keyward.db` (the zero-config default). Set but empty is refused: a
 * deploy whose variable came out empty must not fall back to a local file. Any other
 * `scheme://` is refused, and no error message ever shows a password.
 */
export function parseDatabaseUrl(value: string | undefined, name = 'KEYWARD_DATABASE_URL'): DatabaseTarget {
  if (value === undefined) return { kind: 'sqlite', path: DEFAULT_DATABASE };
  if (value.trim() === '') {
    throw invalidEnv(name, JSON.stringify(value), `is set but empty; unset it for the zero-config ${DEFAULT_DATABASE}, or name a database`);
  }
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(value)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') {
    try {
      new URL(value);
    } catch {
      throw invalidEnv(name, safeUrl(value), 'is not a valid URL (expected postgres://user:password@host:port/database)');
    }
    return { kind: 'postgres', connectionString: value };
  }
  if (scheme === undefined || scheme === 'file' || scheme === 'sqlite' || scheme === 'sqlite3') return { kind: 'sqlite', path: value };
  if (value.slice(scheme.length + 1).startsWith('//')) {
    throw invalidEnv(name, safeUrl(value), 'must be a SQLite path (or file:/sqlite: URL) or a postgres:// URL');
  }
  return { kind: 'sqlite', path: value }; // e.g. a Windows drive letter, C:\data\keys.db
}

/** Reads `KEYWARD_REDIS_URL`: unset or empty means no Redis; otherwise it must be `redis://` or `rediss://`. */
export function parseRedisUrl(value: string | undefined, name = 'KEYWARD_REDIS_URL'): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  let protocol: string;
  try {
    protocol = new URL(value).protocol;
  } catch {
    throw invalidEnv(name, safeUrl(value), 'must be a redis:// or rediss:// URL');
  }
  if (protocol !== 'redis:' && protocol !== 'rediss:') throw invalidEnv(name, safeUrl(value), 'must be a redis:// or rediss:// URL');
  return value;
}
