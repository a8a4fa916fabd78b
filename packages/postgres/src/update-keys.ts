import type { KeyPatch, VersionedUpdate } from '@keyward/core';
import type { PoolClient } from 'pg';
import { casMiss } from './errors.js';
import { patchAssignments, patchColumns } from './rows.js';
import type { SchemaNames } from './sql.js';

/**
 * Applies a batch's compare-and-set key updates; returns the touched key hashes.
 * Many updates that set the same columns (a leak report revoking 100 keys) go in one
 * statement: one round trip instead of one per key, inside the same transaction, so a
 * report's keys stop working sooner. Any row whose version moved makes the whole batch
 * a conflict, as before. Anything else runs row by row, in the batch's order.
 */
export async function updateKeys(
  client: PoolClient,
  n: SchemaNames,
  updates: readonly VersionedUpdate<KeyPatch>[],
  at: number,
): Promise<string[]> {
  if (updates.length > 1 && canUpdateTogether(updates)) return updateTogether(client, n, updates, at);
  const touched: string[] = [];
  for (const { id, expectedVersion, patch } of updates) {
    const set = patchAssignments('key', patch, 4);
    const result = await client.query<{ key_hash: string }>(
      `UPDATE ${n.keys} SET ${[...set.sql, 'version = version + 1', 'updated_at = $3'].join(', ')}
       WHERE id = $1 AND version = $2 RETURNING key_hash`,
      [id, expectedVersion, at, ...set.values],
    );
    const row = result.rows[0];
    if (row === undefined) throw casMiss('key', id, expectedVersion);
    touched.push(row.key_hash);
  }
  return touched;
}

/**
 * One statement is equivalent to the row-by-row loop when every patch sets the same
 * columns, no key appears twice (a join updates a row once), and no patch makes a key
 * `pending`: that is the only update a per-row unique index (one pending key per client)
 * could refuse in one order and accept in another.
 */
function canUpdateTogether(updates: readonly VersionedUpdate<KeyPatch>[]): boolean {
  const shape = columnsOf(updates[0]?.patch ?? {});
  const ids = new Set<string>();
  for (const { id, patch } of updates) {
    if (ids.has(id) || patch.status === 'pending' || columnsOf(patch) !== shape) return false;
    ids.add(id);
  }
  return shape !== '';
}

function columnsOf(patch: KeyPatch): string {
  return Object.keys(patchColumns('key', patch)).sort().join(',');
}

async function updateTogether(
  client: PoolClient,
  n: SchemaNames,
  updates: readonly VersionedUpdate<KeyPatch>[],
  at: number,
): Promise<string[]> {
  // Rows typed as the table's own rows: each value gets its column's type (bigint, text[], jsonb).
  const rows = updates.map(({ id, expectedVersion, patch }) => ({ ...patchColumns('key', patch), id, version: expectedVersion }));
  const columns = Object.keys(patchColumns('key', updates[0]?.patch ?? {}));
  const result = await client.query<{ id: string; key_hash: string }>(
    `UPDATE ${n.keys} AS k SET ${[...columns.map((c) => `${c} = v.${c}`), 'version = k.version + 1', 'updated_at = $2'].join(', ')}
     FROM jsonb_populate_recordset(NULL::${n.keys}, $1::jsonb) AS v
     WHERE k.id = v.id AND k.version = v.version RETURNING k.id, k.key_hash`,
    [JSON.stringify(rows), at],
  );
  if (result.rows.length !== updates.length) {
    const updated = new Set(result.rows.map((r) => r.id));
    const missed = updates.find((u) => !updated.has(u.id)) as VersionedUpdate<KeyPatch>;
    throw casMiss('key', missed.id, missed.expectedVersion);
  }
  return result.rows.map((r) => r.key_hash);
}
