import { fileURLToPath } from 'node:url';
import { invalidOption } from './errors.js';

/** Where a database lives, once the accepted spellings are reduced to one form. */
export interface DatabaseLocation {
  /** What better-sqlite3 opens: a file path, or `':memory:'`. */
  readonly filename: string;
  readonly memory: boolean;
}

const MEMORY: DatabaseLocation = Object.freeze({ filename: ':memory:', memory: true });

/** The default location: `KEYWARD_DATABASE_URL` when set, else `./keyward.db`. Set but empty is an error, not the default. */
export function defaultDatabasePath(env: NodeJS.ProcessEnv = process.env): { value: string; option: string } {
  const fromEnv = env.KEYWARD_DATABASE_URL;
  if (fromEnv === undefined) return { value: './keyward.db', option: 'path' };
  if (fromEnv.trim() === '') {
    throw invalidOption('KEYWARD_DATABASE_URL', fromEnv, 'is set but empty; unset it for ./keyward.db, or name a database');
  }
  return { value: fromEnv, option: 'KEYWARD_DATABASE_URL' };
}

const NO_QUERY = 'must not carry URL query parameters or a fragment (open options are set by @keyward/sqlite)';

function noQuery(rest: string, option: string, value: string): string {
  if (/[?#]/.test(rest)) throw invalidOption(option, value, NO_QUERY);
  return rest;
}

function decode(rest: string, option: string, value: string): string {
  try {
    return decodeURIComponent(rest);
  } catch {
    throw invalidOption(option, value, 'must be a valid URL (bad %-escape)');
  }
}

/**
 * Turns the `path` option into a file name. Accepted spellings:
 * - a plain path: `./keyward.db`, `/var/lib/app/keys.db`
 * - `:memory:` (also `file::memory:` and `sqlite::memory:`): a private in-memory database
 * - `file:` URLs: `file:///abs/keys.db`, `file:relative/keys.db`
 * - `sqlite:` URLs: `sqlite:///abs/keys.db` (three slashes: absolute), `sqlite://relative/keys.db`, `sqlite:relative/keys.db`
 *
 * Any other `scheme://` (a PostgreSQL URL in `KEYWARD_DATABASE_URL`, say) is refused,
 * naming only the scheme so a password in the URL never reaches a message.
 */
export function resolveDatabasePath(value: unknown, option = 'path'): DatabaseLocation {
  if (typeof value !== 'string' || value.trim() === '')
    throw invalidOption(option, value, 'must be a non-empty string (a file path, a file:/sqlite: URL or ":memory:")');
  if (value === ':memory:') return MEMORY;
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(value)?.[1]?.toLowerCase();
  if (scheme === 'file') return fromFileUrl(value, option);
  if (scheme === 'sqlite' || scheme === 'sqlite3') return fromSqliteUrl(value.slice(scheme.length + 1), option, value);
  if (scheme !== undefined && value.slice(scheme.length + 1).startsWith('//')) {
    throw invalidOption(option, `${scheme}://…`, `must be a SQLite file path or a file:/sqlite: URL, not a ${scheme}: URL`);
  }
  return { filename: value, memory: false };
}

function fromFileUrl(value: string, option: string): DatabaseLocation {
  const rest = value.slice('file:'.length);
  if (rest === ':memory:') return MEMORY;
  if (!rest.startsWith('//')) return plain(decode(noQuery(rest, option, value), option, value), option, value);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidOption(option, value, 'must be a valid file: URL');
  }
  if (url.search !== '' || url.hash !== '' || /[?#]/.test(value)) throw invalidOption(option, value, NO_QUERY);
  try {
    return plain(fileURLToPath(url), option, value);
  } catch (error) {
    throw invalidOption(option, value, `must be a local file: URL (${(error as Error).message})`);
  }
}

function fromSqliteUrl(rest: string, option: string, value: string): DatabaseLocation {
  if (rest === ':memory:' || rest === '//:memory:') return MEMORY;
  const path = rest.startsWith('//') ? rest.slice(2) : rest;
  return plain(decode(noQuery(path, option, value), option, value), option, value);
}

function plain(path: string, option: string, value: string): DatabaseLocation {
  if (path === '') throw invalidOption(option, value, 'must name a database file');
  return { filename: path, memory: false };
}
