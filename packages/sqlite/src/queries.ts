import {
  type AuditQuery,
  type AuditRecord,
  type AuditScanRow,
  auditScanRow,
  type KeyQuery,
  type KeyRecord,
  type RotationQuery,
  type RotationRecord,
} from '@keyward/core';
import {
  AUDIT_COLUMNS,
  type AuditRow,
  auditFromRow,
  KEY_COLUMNS,
  type KeyRow,
  keyFromRow,
  ROTATION_COLUMNS,
  type RotationRow,
  rotationFromRow,
} from './rows.js';
import type { StatementCache } from './statement-cache.js';

/** `LIMIT -1` is SQLite's "no limit". */
function limitOf(limit: number | undefined): number {
  return limit === undefined ? -1 : Math.max(0, Math.floor(limit));
}

/**
 * Builds `WHERE ...` from the filters that are set. Each filter contributes a fixed
 * fragment with a named parameter, so the SQL text (and its prepared statement)
 * depends only on which filters are present, never on their values.
 */
function where(filters: readonly (readonly [string, string, unknown])[]): { clause: string; params: Record<string, unknown> } {
  const present = filters.filter(([, , value]) => value !== undefined);
  const params: Record<string, unknown> = {};
  for (const [name, , value] of present) params[name] = value;
  return { clause: present.length === 0 ? '' : `WHERE ${present.map(([, sql]) => sql).join(' AND ')}`, params };
}

const IN_JSON = (column: string, param: string) => `${column} IN (SELECT value FROM json_each(@${param}))`;

export function findKeyBy(sql: StatementCache, column: 'key_hash' | 'id', value: string): KeyRecord | null {
  const row = sql.get(`SELECT ${KEY_COLUMNS} FROM keys WHERE ${column} = ?`).get(value) as KeyRow | undefined;
  return row === undefined ? null : keyFromRow(row);
}

/** The keys among `keyHashes` (one statement: the hashes go in as a JSON array). */
export function findKeysByHashes(sql: StatementCache, keyHashes: readonly string[]): KeyRecord[] {
  if (keyHashes.length === 0) return [];
  const rows = sql.get(`SELECT ${KEY_COLUMNS} FROM keys WHERE ${IN_JSON('key_hash', 'hashes')}`).all({ hashes: JSON.stringify(keyHashes) });
  return (rows as KeyRow[]).map(keyFromRow);
}

export function findKeysByIds(sql: StatementCache, ids: readonly string[]): KeyRecord[] {
  if (ids.length === 0) return [];
  const rows = sql.get(`SELECT ${KEY_COLUMNS} FROM keys WHERE ${IN_JSON('id', 'ids')}`).all({ ids: JSON.stringify(ids) });
  return (rows as KeyRow[]).map(keyFromRow);
}

export function scanKeyHashes(sql: StatementCache, after: string, limit: number): string[] {
  // key_hash is UNIQUE: its index gives the order and the start of each page.
  return sql.get('SELECT key_hash FROM keys WHERE key_hash > ? ORDER BY key_hash LIMIT ?').pluck().all(after, limit) as string[];
}

export function findKeysByFingerprint(sql: StatementCache, prefix: string): KeyRecord[] {
  // The range lets the fingerprint index narrow the scan; substr() makes the match exact.
  // A prefix longer than a fingerprint goes on into the hash (colliding fingerprints).
  const fingerprint = prefix.slice(0, 8);
  const rows = sql
    .get(
      `SELECT ${KEY_COLUMNS} FROM keys WHERE fingerprint >= @fingerprint AND fingerprint < @upper ` +
        'AND substr(fingerprint, 1, length(@fingerprint)) = @fingerprint ' +
        'AND (length(@prefix) <= 8 OR substr(key_hash, 1, length(@prefix)) = @prefix) ORDER BY created_at, id',
    )
    .all({ prefix, fingerprint, upper: `${fingerprint}\u{10FFFF}` }) as KeyRow[];
  return rows.map(keyFromRow);
}

export function listKeys(sql: StatementCache, query: KeyQuery): KeyRecord[] {
  const { clause, params } = where([
    ['clientId', 'client_id = @clientId', query.clientId],
    ['status', IN_JSON('status', 'status'), query.status === undefined ? undefined : JSON.stringify(query.status)],
    ['expiresBefore', 'expires_at <= @expiresBefore', query.expiresBefore],
    ['graceEndedBefore', 'grace_until <= @graceEndedBefore', query.graceEndedBefore],
    ['statusChangedBefore', 'status_changed_at <= @statusChangedBefore', query.statusChangedBefore],
  ]);
  const rows = sql
    .get(`SELECT ${KEY_COLUMNS} FROM keys ${clause} ORDER BY created_at, id LIMIT @limit`)
    .all({ ...params, limit: limitOf(query.limit) }) as KeyRow[];
  return rows.map(keyFromRow);
}

export function findRotation(sql: StatementCache, id: string): RotationRecord | null {
  const row = sql.get(`SELECT ${ROTATION_COLUMNS} FROM rotations WHERE id = ?`).get(id) as RotationRow | undefined;
  return row === undefined ? null : rotationFromRow(row);
}

export function findRotationByIdempotencyKey(sql: StatementCache, clientId: string, idempotencyKey: string): RotationRecord | null {
  const row = sql
    .get(`SELECT ${ROTATION_COLUMNS} FROM rotations WHERE client_id = ? AND idempotency_key = ?`)
    .get(clientId, idempotencyKey) as RotationRow | undefined;
  return row === undefined ? null : rotationFromRow(row);
}

export function listRotations(sql: StatementCache, query: RotationQuery): RotationRecord[] {
  const { clause, params } = where([
    ['clientId', 'client_id = @clientId', query.clientId],
    ['state', IN_JSON('state', 'state'), query.state === undefined ? undefined : JSON.stringify(query.state)],
    ['graceEndedBefore', 'grace_until <= @graceEndedBefore', query.graceEndedBefore],
  ]);
  const rows = sql
    .get(`SELECT ${ROTATION_COLUMNS} FROM rotations ${clause} ORDER BY created_at, id LIMIT @limit`)
    .all({ ...params, limit: limitOf(query.limit) }) as RotationRow[];
  return rows.map(rotationFromRow);
}

export function listAudit(sql: StatementCache, query: AuditQuery): AuditRecord[] {
  const { clause, params } = where([
    ['clientId', 'client_id = @clientId', query.clientId],
    ['since', 'at >= @since', query.since],
    ['afterSeq', 'seq > @afterSeq', query.afterSeq],
  ]);
  const rows = sql
    .get(`SELECT ${AUDIT_COLUMNS} FROM audit_events ${clause} ORDER BY seq LIMIT @limit`)
    .all({ ...params, limit: limitOf(query.limit) }) as AuditRow[];
  return rows.map(auditFromRow);
}

/** The rows `listAudit({ afterSeq, limit })` gives, as scan rows rendered by the core (SQLite reads them fast enough; one renderer less to keep in step). */
export function scanAuditForVerify(sql: StatementCache, afterSeq: number, limit: number): AuditScanRow[] {
  return listAudit(sql, { afterSeq, limit }).map(auditScanRow);
}
