import { type AuditRecord, chainAuditEntry, type WriteBatch } from '@keyward/core';
import type { PoolClient } from 'pg';
import { casMiss } from './errors.js';
import {
  AUDIT_COLUMNS,
  auditParams,
  KEY_COLUMNS,
  keyParams,
  patchAssignments,
  ROTATION_COLUMNS,
  rotationParams,
  valuesList,
} from './rows.js';
import { advisoryKey, type SchemaNames } from './sql.js';
import { updateKeys } from './update-keys.js';

/** Rows per multi-row INSERT: keeps every statement well under pg's 65,535 parameters. */
const CHUNK = 500;

async function insertRows<T>(client: PoolClient, table: string, columns: string, rows: readonly T[], params: (row: T) => unknown[]) {
  const width = columns.split(',').length;
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    await client.query(`INSERT INTO ${table} (${columns}) VALUES ${valuesList(chunk.length, width)}`, chunk.flatMap(params));
  }
}

/**
 * Appends audit entries to the hash chain. A transaction-level advisory lock per
 * schema serialises appenders, so the chain head read here is the true last row
 * and two commits can never both chain onto it (the unique `prev_hash` constraint
 * backs this up: a fork is a constraint violation, not silent corruption).
 */
async function appendAudit(client: PoolClient, n: SchemaNames, batch: WriteBatch): Promise<void> {
  const entries = batch.audit ?? [];
  if (entries.length === 0) return;
  await client.query(`SELECT pg_advisory_xact_lock(${advisoryKey(1)})`, [`${n.schema}:audit`]);
  const head = await client.query<{ seq: string; hash: string }>(`SELECT seq, hash FROM ${n.audit} ORDER BY seq DESC LIMIT 1`);
  const last = head.rows[0];
  let previous: Pick<AuditRecord, 'seq' | 'hash'> | null = last ? { seq: Number(last.seq), hash: last.hash } : null;
  const rows: AuditRecord[] = [];
  for (const entry of entries) {
    const row = chainAuditEntry(previous, entry);
    rows.push(row);
    previous = row;
  }
  await insertRows(client, n.audit, AUDIT_COLUMNS, rows, auditParams);
}

/**
 * Applies one `WriteBatch` on a connection that is inside a transaction: inserts,
 * compare-and-set updates and deletes (0 rows → `KEYWARD_CONFLICT`), audit appends,
 * the change log (written by the schema's triggers), and a `pg_notify` per touched key hash, delivered by PostgreSQL only if the
 * transaction commits.
 */
export async function applyBatch(client: PoolClient, n: SchemaNames, batch: WriteBatch): Promise<void> {
  const touched = new Set<string>();
  const insertKeys = batch.insertKeys ?? [];
  // The change log's counter is locked before any key row, as its triggers would lock it
  // after them: taking it first keeps two commits from deadlocking on the two orders.
  if (insertKeys.length + (batch.updateKeys?.length ?? 0) + (batch.deleteKeys?.length ?? 0) > 0) {
    await client.query(`SELECT value FROM ${n.meta} WHERE name = 'key_changes_seq' FOR UPDATE`);
  }
  for (const hash of await updateKeys(client, n, batch.updateKeys ?? [], batch.at)) touched.add(hash);
  for (const { id, expectedVersion } of batch.deleteKeys ?? []) {
    const result = await client.query<{ key_hash: string }>(`DELETE FROM ${n.keys} WHERE id = $1 AND version = $2 RETURNING key_hash`, [
      id,
      expectedVersion,
    ]);
    const row = result.rows[0];
    if (row === undefined) throw casMiss('key', id, expectedVersion);
    touched.add(row.key_hash);
  }

  // Inserts after updates and deletes (as in SQLite): a batch that closes one pending key
  // or open rotation and opens the next does not trip the one-per-client indexes midway.
  await insertRows(client, n.keys, KEY_COLUMNS, insertKeys, keyParams);
  for (const k of insertKeys) touched.add(k.keyHash);

  for (const { id, expectedVersion, patch } of batch.updateRotations ?? []) {
    const set = patchAssignments('rotation', patch, 4);
    const result = await client.query(
      `UPDATE ${n.rotations} SET ${[...set.sql, 'version = version + 1', 'updated_at = $3'].join(', ')}
       WHERE id = $1 AND version = $2`,
      [id, expectedVersion, batch.at, ...set.values],
    );
    if (result.rowCount !== 1) throw casMiss('rotation', id, expectedVersion);
  }

  await insertRows(client, n.rotations, ROTATION_COLUMNS, batch.insertRotations ?? [], rotationParams);

  await appendAudit(client, n, batch);
  if (touched.size > 0) {
    await client.query('SELECT pg_notify($1, h) FROM unnest($2::text[]) AS h', [n.channel, [...touched]]);
  }
}
