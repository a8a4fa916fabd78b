import { ErrorCodes, KeywardError } from '@keyward/core';

const PKG = '@keyward/postgres';

/** Renders a value for an error message without dumping a long string. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return value.length > 80 ? `a ${value.length}-character string` : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return `a ${typeof value}`;
}

/** A bad option: names the package, the option and the value. */
export function invalidOption(option: string, value: unknown, expected: string): KeywardError {
  return new KeywardError(ErrorCodes.INVALID_OPTION, `${PKG}: option "${option}" ${expected}; got ${describeValue(value)}`, { option });
}

/** Replaces the password of a `scheme://user:password@host` string with `***`. Works on malformed strings too. */
export function maskUrl(url: string): string {
  return url.replace(/^([^:/?#@]*:\/\/)?([^@/?#]*)@/, (_m, scheme: string | undefined, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return `${scheme ?? ''}${colon < 0 ? userinfo : `${userinfo.slice(0, colon)}:***`}@`;
  });
}

/** pg error codes that mean "another writer won": unique violation, serialization failure, deadlock. */
const CONFLICT_CODES = new Set(['23505', '40001', '40P01']);

/** Human wording for the store's own constraints (never the row values: `detail` may hold a key hash). */
const CONSTRAINTS: Record<string, string> = {
  keys_pkey: 'a key with this id already exists',
  keys_key_hash_key: 'a key with this hash already exists',
  keys_one_pending_per_client: 'the client already has a pending key',
  rotations_pkey: 'a rotation with this id already exists',
  rotations_one_open_per_client: 'the client already has a rotation in progress',
  rotations_idempotency_key: 'this idempotency key was already used for the client',
  audit_events_pkey: 'the audit chain moved concurrently',
  audit_events_prev_hash_key: 'the audit chain moved concurrently',
};

interface PgErrorLike {
  code?: unknown;
  constraint?: unknown;
  message?: unknown;
  routine?: unknown;
}

function pgCode(error: unknown): string | undefined {
  const code = (error as PgErrorLike | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isConflictError(error: unknown): boolean {
  const code = pgCode(error);
  return code !== undefined && CONFLICT_CODES.has(code);
}

/** Maps a unique violation, serialization failure or deadlock to `KEYWARD_CONFLICT`. */
export function conflictFrom(error: unknown, what: string): KeywardError {
  const constraint = (error as PgErrorLike).constraint;
  const reason =
    typeof constraint === 'string' && constraint in CONSTRAINTS
      ? CONSTRAINTS[constraint]
      : pgCode(error) === '23505'
        ? `unique constraint ${String(constraint)} violated`
        : 'a concurrent transaction interfered';
  return new KeywardError(ErrorCodes.CONFLICT, `${PKG}: ${what} conflicts: ${reason}`, {
    constraint: typeof constraint === 'string' ? constraint : undefined,
    pgCode: pgCode(error),
  });
}

/** A compare-and-set miss: the row changed or vanished since it was read. */
export function casMiss(table: 'key' | 'rotation', id: string, expectedVersion: number): KeywardError {
  return new KeywardError(
    ErrorCodes.CONFLICT,
    `${PKG}: ${table} ${id} changed concurrently or no longer exists (expected version ${expectedVersion})`,
    { [`${table}Id`]: id, expectedVersion },
  );
}

/** Where the store connects, for messages: `host:port/database as user`, never a password. */
export interface Target {
  readonly description: string;
  /** The password, if known, so it can be scrubbed from any driver message. */
  readonly secret: string | undefined;
}

function scrub(message: string, target: Target): string {
  let text = maskUrl(message);
  if (target.secret) text = text.split(target.secret).join('***');
  return text;
}

/** Why a connection attempt failed, in words an operator can act on. */
function connectReason(error: unknown): string {
  const code = pgCode(error);
  const message = String((error as PgErrorLike | null)?.message ?? error);
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (is the server running and listening on that port?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ETIMEDOUT':
      return 'connection timed out';
    case '3D000':
      return `unknown database (${message})`;
    case '28000':
      return `authentication rejected (${message})`;
    case '28P01':
      return `wrong password or user (${message})`;
    case '57P03':
      return 'the server is starting up or shutting down';
    default:
      return message;
  }
}

/** A failed start: connect, authenticate, migrate. Message names the target and the reason, with the password masked. */
export function unavailable(step: string, error: unknown, target: Target): KeywardError {
  if (error instanceof KeywardError) return error;
  const message = `${PKG}: ${step} failed for PostgreSQL at ${target.description}: ${scrub(connectReason(error), target)}`;
  return new KeywardError(ErrorCodes.UNAVAILABLE, message, { pgCode: pgCode(error), target: target.description });
}

/** Wraps any error thrown by a store call: conflicts stay conflicts, everything else is `KEYWARD_UNAVAILABLE`. */
export function storeError(error: unknown, what: string, target: Target): KeywardError {
  if (error instanceof KeywardError) return error;
  if (isConflictError(error)) return conflictFrom(error, what);
  return unavailable(what, error, target);
}
