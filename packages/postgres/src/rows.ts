import type { AuditRecord, KeyPatch, KeyRecord, KeyStatus, RotationPatch, RotationRecord, RotationState } from '@keyward/core';

/** `bigint` columns come back from pg as strings: turn them into the core's millisecond numbers. */
function ms(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

function msOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : ms(value);
}

export const KEY_COLUMNS =
  'id, client_id, key_hash, fingerprint, prefix, status, scopes, metadata, created_at, expires_at, grace_until, rotation_id, ' +
  'replaces, revoked_at, revoked_reason, last_used_at, status_changed_at, updated_at, version';

export const ROTATION_COLUMNS =
  'id, client_id, old_key_id, new_key_id, state, reason, actor, idempotency_key, grace_until, created_at, updated_at, ' +
  'completed_at, last_error, version, grace_from, grace_ms, first_used_at';

export const AUDIT_COLUMNS = 'seq, at, type, client_id, key_id, fingerprint, rotation_id, actor, reason, data, prev_hash, hash';

type Row = Record<string, unknown>;

export function keyFromRow(r: Row): KeyRecord {
  return {
    id: r.id as string,
    clientId: r.client_id as string,
    keyHash: r.key_hash as string,
    fingerprint: r.fingerprint as string,
    prefix: r.prefix as string,
    status: r.status as KeyStatus,
    scopes: r.scopes as string[],
    metadata: r.metadata as Record<string, unknown>,
    createdAt: ms(r.created_at),
    expiresAt: msOrNull(r.expires_at),
    graceUntil: msOrNull(r.grace_until),
    rotationId: (r.rotation_id as string | null) ?? null,
    replaces: (r.replaces as string | null) ?? null,
    revokedAt: msOrNull(r.revoked_at),
    revokedReason: (r.revoked_reason as string | null) ?? null,
    lastUsedAt: msOrNull(r.last_used_at),
    statusChangedAt: ms(r.status_changed_at),
    updatedAt: ms(r.updated_at),
    version: Number(r.version),
  };
}

export function rotationFromRow(r: Row): RotationRecord {
  return {
    id: r.id as string,
    clientId: r.client_id as string,
    oldKeyId: r.old_key_id as string,
    newKeyId: r.new_key_id as string,
    state: r.state as RotationState,
    reason: (r.reason as string | null) ?? null,
    actor: (r.actor as string | null) ?? null,
    idempotencyKey: (r.idempotency_key as string | null) ?? null,
    graceUntil: ms(r.grace_until),
    createdAt: ms(r.created_at),
    updatedAt: ms(r.updated_at),
    completedAt: msOrNull(r.completed_at),
    lastError: (r.last_error as string | null) ?? null,
    version: Number(r.version),
    graceFrom: r.grace_from === 'first-use' ? 'first-use' : 'rotation',
    graceMs: msOrNull(r.grace_ms),
    firstUsedAt: msOrNull(r.first_used_at),
  };
}

export function auditFromRow(r: Row): AuditRecord {
  return {
    seq: ms(r.seq),
    at: ms(r.at),
    type: r.type as string,
    clientId: (r.client_id as string | null) ?? null,
    keyId: (r.key_id as string | null) ?? null,
    fingerprint: (r.fingerprint as string | null) ?? null,
    rotationId: (r.rotation_id as string | null) ?? null,
    actor: (r.actor as string | null) ?? null,
    reason: (r.reason as string | null) ?? null,
    data: r.data as Record<string, unknown>,
    prevHash: r.prev_hash as string,
    hash: r.hash as string,
  };
}

/** Parameters of one key row, in `KEY_COLUMNS` order. */
export function keyParams(k: KeyRecord): unknown[] {
  return [
    k.id,
    k.clientId,
    k.keyHash,
    k.fingerprint,
    k.prefix,
    k.status,
    [...k.scopes],
    JSON.stringify(k.metadata),
    k.createdAt,
    k.expiresAt,
    k.graceUntil,
    k.rotationId,
    k.replaces,
    k.revokedAt,
    k.revokedReason,
    k.lastUsedAt,
    k.statusChangedAt,
    k.updatedAt,
    k.version,
  ];
}

export function rotationParams(r: RotationRecord): unknown[] {
  return [
    r.id,
    r.clientId,
    r.oldKeyId,
    r.newKeyId,
    r.state,
    r.reason,
    r.actor,
    r.idempotencyKey,
    r.graceUntil,
    r.createdAt,
    r.updatedAt,
    r.completedAt,
    r.lastError,
    r.version,
    r.graceFrom,
    r.graceMs,
    r.firstUsedAt,
  ];
}

export function auditParams(a: AuditRecord): unknown[] {
  return [
    a.seq,
    a.at,
    a.type,
    a.clientId,
    a.keyId,
    a.fingerprint,
    a.rotationId,
    a.actor,
    a.reason,
    JSON.stringify(a.data),
    a.prevHash,
    a.hash,
  ];
}

/** Patch field → column, for the compare-and-set `UPDATE ... SET`. */
const KEY_PATCH_COLUMNS: Record<keyof KeyPatch, string> = {
  status: 'status',
  scopes: 'scopes',
  metadata: 'metadata',
  expiresAt: 'expires_at',
  graceUntil: 'grace_until',
  rotationId: 'rotation_id',
  revokedAt: 'revoked_at',
  revokedReason: 'revoked_reason',
  statusChangedAt: 'status_changed_at',
};

const ROTATION_PATCH_COLUMNS: Record<keyof RotationPatch, string> = {
  state: 'state',
  completedAt: 'completed_at',
  lastError: 'last_error',
  graceUntil: 'grace_until',
  firstUsedAt: 'first_used_at',
};

/** `col = $n` assignments and their values for the fields a patch sets (unknown fields are ignored). */
export function patchAssignments(kind: 'key' | 'rotation', patch: object, firstParam: number): { sql: string[]; values: unknown[] } {
  const columns: Record<string, string> = kind === 'key' ? KEY_PATCH_COLUMNS : ROTATION_PATCH_COLUMNS;
  const sql: string[] = [];
  const values: unknown[] = [];
  for (const [field, value] of Object.entries(patch)) {
    const column = columns[field];
    if (column === undefined || value === undefined) continue;
    values.push(field === 'metadata' ? JSON.stringify(value) : field === 'scopes' ? [...(value as string[])] : value);
    sql.push(`${column} = $${firstParam + values.length - 1}`);
  }
  return { sql, values };
}

/** `($1, $2, ...), ($n+1, ...)` placeholders for a multi-row insert. */
export function valuesList(rows: number, width: number): string {
  const groups: string[] = [];
  for (let r = 0; r < rows; r++) {
    const cells: string[] = [];
    for (let c = 1; c <= width; c++) cells.push(`$${r * width + c}`);
    groups.push(`(${cells.join(', ')})`);
  }
  return groups.join(', ');
}

/** Column → value for the fields a patch sets, as JSON for `jsonb_populate_recordset` (unknown fields are ignored). */
export function patchColumns(kind: 'key' | 'rotation', patch: object): Record<string, unknown> {
  const columns: Record<string, string> = kind === 'key' ? KEY_PATCH_COLUMNS : ROTATION_PATCH_COLUMNS;
  const row: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(patch)) {
    const column = columns[field];
    if (column !== undefined && value !== undefined) row[column] = value;
  }
  return row;
}
