import { type AuditEntry, type AuditRecord, chainAuditEntry, ErrorCodes, type VersionedUpdate, type WriteBatch } from '@keyward/core';
import { storeError } from './errors.js';
import { KEY_COLUMNS, keyToRow, patchAssignments, ROTATION_COLUMNS, rotationToRow } from './rows.js';
import type { StatementCache } from './statement-cache.js';

const INSERT_KEY = `INSERT INTO keys (${KEY_COLUMNS}) VALUES (${KEY_COLUMNS.split(', ')
  .map((c) => `@${c}`)
  .join(', ')})`;
const INSERT_ROTATION = `INSERT INTO rotations (${ROTATION_COLUMNS}) VALUES (${ROTATION_COLUMNS.split(', ')
  .map((c) => `@${c}`)
  .join(', ')})`;
const INSERT_AUDIT =
  'INSERT INTO audit_events (seq, at, type, client_id, key_id, fingerprint, rotation_id, actor, reason, data, prev_hash, hash) ' +
  'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';

function lost(sql: StatementCache, table: 'keys' | 'rotations', id: string, expected: number) {
  const what = table === 'keys' ? 'key' : 'rotation';
  const row = sql.get(`SELECT version FROM ${table} WHERE id = ?`).get(id) as { version: number } | undefined;
  return storeError(
    ErrorCodes.CONFLICT,
    row === undefined
      ? `${what} ${id} no longer exists`
      : `${what} ${id} changed concurrently (expected version ${expected}, found ${row.version})`,
    { [`${what}Id`]: id, expectedVersion: expected, actualVersion: row?.version },
  );
}

/** A compare-and-set update: applies only at `expectedVersion`; bumps `version` by one and stamps `updated_at`. */
function casUpdate(sql: StatementCache, table: 'keys' | 'rotations', update: VersionedUpdate<object>, at: number): void {
  const { columns, values } = patchAssignments(update.patch, table === 'keys' ? 'key' : 'rotation');
  const sets = [...columns.map((c) => `${c} = ?`), 'version = version + 1', 'updated_at = ?'].join(', ');
  const result = sql.get(`UPDATE ${table} SET ${sets} WHERE id = ? AND version = ?`).run(...values, at, update.id, update.expectedVersion);
  if (result.changes === 0) throw lost(sql, table, update.id, update.expectedVersion);
}

/**
 * Audit data goes through JSON before it is hashed, so the hash covers exactly what
 * is stored and read back (a `Date` or `undefined` inside `data` cannot break the chain).
 */
function normalised(entry: AuditEntry): AuditEntry {
  return { ...entry, data: JSON.parse(JSON.stringify(entry.data ?? {})) as Record<string, unknown> };
}

function appendAudit(sql: StatementCache, entries: readonly AuditEntry[]): void {
  if (entries.length === 0) return;
  let previous =
    (sql.get('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1').get() as Pick<AuditRecord, 'seq' | 'hash'> | undefined) ??
    null;
  const insert = sql.get(INSERT_AUDIT);
  for (const entry of entries) {
    const row = chainAuditEntry(previous, normalised(entry));
    insert.run(
      row.seq,
      row.at,
      row.type,
      row.clientId,
      row.keyId,
      row.fingerprint,
      row.rotationId,
      row.actor,
      row.reason,
      JSON.stringify(row.data),
      row.prevHash,
      row.hash,
    );
    previous = row;
  }
}

/**
 * Applies one batch. Must run inside a `BEGIN IMMEDIATE` transaction: any throw
 * (a lost compare-and-set, a unique index) rolls the whole batch back.
 *
 * Order: key updates and deletes before key inserts, rotation updates before
 * rotation inserts, so a batch that closes one pending key or open rotation and
 * opens the next does not trip the one-per-client indexes midway. Audit rows last.
 */
export function applyBatch(sql: StatementCache, batch: WriteBatch): void {
  for (const update of batch.updateKeys ?? []) casUpdate(sql, 'keys', update, batch.at);
  for (const { id, expectedVersion } of batch.deleteKeys ?? []) {
    if (sql.get('DELETE FROM keys WHERE id = ? AND version = ?').run(id, expectedVersion).changes === 0) {
      throw lost(sql, 'keys', id, expectedVersion);
    }
  }
  for (const key of batch.insertKeys ?? []) sql.get(INSERT_KEY).run(keyToRow(key));
  for (const update of batch.updateRotations ?? []) casUpdate(sql, 'rotations', update, batch.at);
  for (const rotation of batch.insertRotations ?? []) sql.get(INSERT_ROTATION).run(rotationToRow(rotation));
  appendAudit(sql, batch.audit ?? []);
}
