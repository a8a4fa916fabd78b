import type { AuditRecord, KeyPatch, KeyRecord, KeyStatus, RotationPatch, RotationRecord, RotationState } from '@keyward/core';
import { ErrorCodes } from '@keyward/core';
import { storeError } from './errors.js';

/** A `keys` row as SQLite returns it. */
export interface KeyRow {
  id: string;
  key_hash: string;
  client_id: string;
  fingerprint: string;
  prefix: string;
  status: string;
  scopes: string;
  metadata: string;
  created_at: number;
  expires_at: number | null;
  grace_until: number | null;
  rotation_id: string | null;
  replaces: string | null;
  revoked_at: number | null;
  revoked_reason: string | null;
  last_used_at: number | null;
  status_changed_at: number;
  updated_at: number;
  version: number;
}

export interface RotationRow {
  id: string;
  client_id: string;
  old_key_id: string;
  new_key_id: string;
  state: string;
  reason: string | null;
  actor: string | null;
  idempotency_key: string | null;
  grace_until: number;
  created_at: number;
  updated_at: number;
  completed_at: number | null;
  last_error: string | null;
  version: number;
  grace_from: string;
  grace_ms: number | null;
  first_used_at: number | null;
}

export interface AuditRow {
  seq: number;
  at: number;
  type: string;
  client_id: string | null;
  key_id: string | null;
  fingerprint: string | null;
  rotation_id: string | null;
  actor: string | null;
  reason: string | null;
  data: string;
  prev_hash: string;
  hash: string;
}

export const KEY_COLUMNS =
  'id, key_hash, client_id, fingerprint, prefix, status, scopes, metadata, created_at, expires_at, grace_until, rotation_id, replaces, ' +
  'revoked_at, revoked_reason, last_used_at, status_changed_at, updated_at, version';
export const ROTATION_COLUMNS =
  'id, client_id, old_key_id, new_key_id, state, reason, actor, idempotency_key, grace_until, created_at, updated_at, completed_at, last_error, version, ' +
  'grace_from, grace_ms, first_used_at';
export const AUDIT_COLUMNS = 'seq, at, type, client_id, key_id, fingerprint, rotation_id, actor, reason, data, prev_hash, hash';

export function keyFromRow(row: KeyRow): KeyRecord {
  return {
    id: row.id,
    clientId: row.client_id,
    keyHash: row.key_hash,
    fingerprint: row.fingerprint,
    prefix: row.prefix,
    status: row.status as KeyStatus,
    scopes: JSON.parse(row.scopes) as string[],
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    graceUntil: row.grace_until,
    rotationId: row.rotation_id,
    replaces: row.replaces,
    revokedAt: row.revoked_at,
    revokedReason: row.revoked_reason,
    lastUsedAt: row.last_used_at,
    statusChangedAt: row.status_changed_at,
    updatedAt: row.updated_at,
    version: row.version,
  };
}

/** Named parameters for inserting a key (`@id`, `@key_hash`, ...). */
export function keyToRow(k: KeyRecord): KeyRow {
  return {
    id: k.id,
    key_hash: k.keyHash,
    client_id: k.clientId,
    fingerprint: k.fingerprint,
    prefix: k.prefix,
    status: k.status,
    scopes: JSON.stringify(k.scopes),
    metadata: JSON.stringify(k.metadata),
    created_at: k.createdAt,
    expires_at: k.expiresAt,
    grace_until: k.graceUntil,
    rotation_id: k.rotationId,
    replaces: k.replaces,
    revoked_at: k.revokedAt,
    revoked_reason: k.revokedReason,
    last_used_at: k.lastUsedAt,
    status_changed_at: k.statusChangedAt,
    updated_at: k.updatedAt,
    version: k.version,
  };
}

export function rotationFromRow(row: RotationRow): RotationRecord {
  return {
    id: row.id,
    clientId: row.client_id,
    oldKeyId: row.old_key_id,
    newKeyId: row.new_key_id,
    state: row.state as RotationState,
    reason: row.reason,
    actor: row.actor,
    idempotencyKey: row.idempotency_key,
    graceUntil: row.grace_until,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    completedAt: row.completed_at,
    lastError: row.last_error,
    version: row.version,
    graceFrom: row.grace_from === 'first-use' ? 'first-use' : 'rotation',
    graceMs: row.grace_ms,
    firstUsedAt: row.first_used_at,
  };
}

export function rotationToRow(r: RotationRecord): RotationRow {
  return {
    id: r.id,
    client_id: r.clientId,
    old_key_id: r.oldKeyId,
    new_key_id: r.newKeyId,
    state: r.state,
    reason: r.reason,
    actor: r.actor,
    idempotency_key: r.idempotencyKey,
    grace_until: r.graceUntil,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    completed_at: r.completedAt,
    last_error: r.lastError,
    version: r.version,
    grace_from: r.graceFrom,
    grace_ms: r.graceMs,
    first_used_at: r.firstUsedAt,
  };
}

export function auditFromRow(row: AuditRow): AuditRecord {
  return {
    seq: row.seq,
    at: row.at,
    type: row.type,
    clientId: row.client_id,
    keyId: row.key_id,
    fingerprint: row.fingerprint,
    rotationId: row.rotation_id,
    actor: row.actor,
    reason: row.reason,
    data: JSON.parse(row.data) as Record<string, unknown>,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/** Patch field → column, and how its value is stored. Anything else in a patch is refused. */
const KEY_PATCH_COLUMNS: Readonly<Record<keyof KeyPatch, readonly [string, boolean]>> = {
  status: ['status', false],
  scopes: ['scopes', true],
  metadata: ['metadata', true],
  expiresAt: ['expires_at', false],
  graceUntil: ['grace_until', false],
  rotationId: ['rotation_id', false],
  revokedAt: ['revoked_at', false],
  revokedReason: ['revoked_reason', false],
  statusChangedAt: ['status_changed_at', false],
};

const ROTATION_PATCH_COLUMNS: Readonly<Record<keyof RotationPatch, readonly [string, boolean]>> = {
  state: ['state', false],
  completedAt: ['completed_at', false],
  lastError: ['last_error', false],
  graceUntil: ['grace_until', false],
  firstUsedAt: ['first_used_at', false],
};

/** The SET clause (column names from the fixed map above, never from input) and its values. */
export function patchAssignments(patch: object, what: 'key' | 'rotation'): { columns: string[]; values: unknown[] } {
  const map: Record<string, readonly [string, boolean]> = what === 'key' ? KEY_PATCH_COLUMNS : ROTATION_PATCH_COLUMNS;
  const columns: string[] = [];
  const values: unknown[] = [];
  for (const [field, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    const target = Object.hasOwn(map, field) ? map[field] : undefined;
    if (target === undefined) throw storeError(ErrorCodes.INVALID_ARGUMENT, `a ${what} update cannot change "${field}"`, { field });
    columns.push(target[0]);
    values.push(target[1] ? JSON.stringify(value) : value);
  }
  return { columns, values };
}
