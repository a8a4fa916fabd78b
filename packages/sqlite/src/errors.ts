import { type ErrorCode, ErrorCodes, KeywardError } from '@keyward/core';

/** The package name every message starts with. */
export const PKG = '@keyward/sqlite';

/** Renders a value for an error message without dumping a long string or an object's contents. */
function describe(value: unknown): string {
  if (typeof value === 'string') return value.length > 200 ? `a ${value.length}-character string` : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return `a ${typeof value}`;
}

/** A bad constructor option: names the package, the option and the value. */
export function invalidOption(option: string, value: unknown, expected: string): KeywardError {
  return new KeywardError(ErrorCodes.INVALID_OPTION, `${PKG}: option "${option}" ${expected}; got ${describe(value)}`, { option });
}

/** The error better-sqlite3 throws (`SqliteError`), recognised by shape so a second copy of the driver still matches. */
interface SqliteErrorLike {
  readonly code: string;
  readonly message: string;
}

function isSqliteError(error: unknown): error is SqliteErrorLike {
  const code: unknown = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('SQLITE_');
}

/** What each unique index means, for a conflict message a person can act on. */
const UNIQUE_MEANINGS: readonly [RegExp, string][] = [
  [/keys\.key_hash/, 'a key with this hash already exists'],
  [/keys\.client_id/, 'the client already has a pending key (one per client)'],
  [/rotations\.client_id, rotations\.idempotency_key/, 'the idempotency key was already used for this client'],
  [/rotations\.client_id/, 'the client already has a rotation in progress (one open rotation per client)'],
  [/keys\.id/, 'a key with this id already exists'],
  [/rotations\.id/, 'a rotation with this id already exists'],
];

/**
 * Maps whatever a database call threw to a `KeywardError`: a uniqueness rule to
 * `KEYWARD_CONFLICT`, a CHECK / NOT NULL violation to `KEYWARD_INVALID_ARGUMENT`,
 * and everything else (busy, I/O, corrupt file, closed) to `KEYWARD_UNAVAILABLE`.
 * A `KeywardError` passes through unchanged.
 */
export function toKeywardError(error: unknown, operation: string, path: string): KeywardError {
  if (error instanceof KeywardError) return error;
  if (isSqliteError(error)) {
    const { code, message } = error;
    if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
      const meaning = UNIQUE_MEANINGS.find(([pattern]) => pattern.test(message))?.[1] ?? 'a uniqueness rule was violated';
      return new KeywardError(ErrorCodes.CONFLICT, `${PKG}: ${operation}: ${meaning} (${message})`, { sqliteCode: code }, { cause: error });
    }
    if (code === 'SQLITE_CONSTRAINT_CHECK' || code === 'SQLITE_CONSTRAINT_NOTNULL') {
      return new KeywardError(ErrorCodes.INVALID_ARGUMENT, `${PKG}: ${operation}: ${message}`, { sqliteCode: code }, { cause: error });
    }
    return unavailable(`${operation} failed on database ${describe(path)}: ${message} (${code})`, { sqliteCode: code }, error);
  }
  const message = error instanceof Error ? error.message : String(error);
  return unavailable(`${operation} failed on database ${describe(path)}: ${message}`, {}, error);
}

export function unavailable(message: string, details: Record<string, unknown> = {}, cause?: unknown): KeywardError {
  return new KeywardError(ErrorCodes.UNAVAILABLE, `${PKG}: ${message}`, details, cause === undefined ? undefined : { cause });
}

export function storeError(code: ErrorCode, message: string, details: Record<string, unknown> = {}): KeywardError {
  return new KeywardError(code, `${PKG}: ${message}`, details);
}
