import { randomUUID } from 'node:crypto';
import type { Duration } from './duration.js';
import { expiryFrom, newKey } from './issue-key.js';
import type { VersionedUpdate } from './key-store.js';
import { graceEndsBeforeExpiry } from './lifecycle/rotation-times.js';
import { auditFor, keyUpdate, type OpsContext, patched } from './ops-context.js';
import type { RotationResult } from './rotation.js';
import type { AuditEntry, KeyPatch, KeyRecord, RotationRecord, RotationState } from './types.js';

/** Everything one rotation writes, and what its caller hands back; nothing is written here. */
export interface RotationPlan {
  readonly pending: KeyRecord;
  readonly rotation: RotationRecord;
  readonly oldUpdate: VersionedUpdate<KeyPatch>;
  readonly audit: AuditEntry;
  /** The two keys as they will be after the commit (for cache and bus). */
  readonly changed: readonly KeyRecord[];
  readonly result: RotationResult;
}

/**
 * Plans the rotation of `oldKey`: a new `pending` key (same scopes and metadata),
 * the rotation record, the old key's grace, and the `key.rotated` audit row. One
 * place for both the single (`rotateKey`) and the batch (`startRotations`) path.
 */
export function planRotation(
  ctx: OpsContext,
  oldKey: KeyRecord,
  fields: {
    now: number;
    graceUntil: number;
    state: RotationState;
    reason: string | null;
    actor: string | null;
    idempotencyKey: string | null;
    ttl?: Duration | null;
    /** Grace from first use: `graceUntil` is then the latest possible end (max wait), `graceMs` the grace after first use. */
    firstUse?: { readonly graceMs: number };
  },
): RotationPlan {
  const { now, graceUntil, state, reason, actor, idempotencyKey, firstUse } = fields;
  const rotationId = randomUUID();
  const { key, record: pending } = newKey(
    ctx,
    {
      clientId: oldKey.clientId,
      status: 'pending',
      scopes: oldKey.scopes,
      metadata: { ...oldKey.metadata },
      expiresAt: expiryFrom(ctx, now, fields.ttl),
      rotationId,
      replaces: oldKey.id,
    },
    now,
  );
  graceEndsBeforeExpiry(graceUntil - now, pending.expiresAt === null ? null : pending.expiresAt - now);
  const rotation: RotationRecord = {
    id: rotationId,
    clientId: oldKey.clientId,
    oldKeyId: oldKey.id,
    newKeyId: pending.id,
    state,
    reason,
    actor,
    idempotencyKey,
    graceUntil,
    createdAt: now,
    updatedAt: now,
    completedAt: null,
    lastError: null,
    version: 1,
    graceFrom: firstUse === undefined ? 'rotation' : 'first-use',
    graceMs: firstUse?.graceMs ?? null,
    firstUsedAt: null,
  };
  const oldPatch: KeyPatch = { graceUntil, rotationId };
  return {
    pending,
    rotation,
    oldUpdate: keyUpdate(oldKey, oldPatch),
    audit: auditFor('key.rotated', now, pending, {
      rotation,
      actor,
      reason,
      data: {
        oldKeyId: oldKey.id,
        oldFingerprint: oldKey.fingerprint,
        graceUntil,
        ...(firstUse === undefined ? {} : { graceFrom: 'first-use', graceMs: firstUse.graceMs }),
      },
    }),
    changed: [pending, patched(oldKey, oldPatch, now)],
    result: {
      key,
      replayed: false,
      rotationId,
      clientId: oldKey.clientId,
      state,
      newKeyId: pending.id,
      fingerprint: pending.fingerprint,
      oldKeyId: oldKey.id,
      oldFingerprint: oldKey.fingerprint,
      graceUntil,
      startedAt: now,
      expiresAt: pending.expiresAt,
    },
  };
}

/** Raises `key.rotated` for a rotation that was committed. */
export function announceRotation(ctx: OpsContext, r: RotationResult, at: number, actor: string | null, reason: string | null): void {
  ctx.events.emit('key.rotated', {
    at,
    clientId: r.clientId,
    keyId: r.newKeyId,
    fingerprint: r.fingerprint,
    rotationId: r.rotationId,
    oldKeyId: r.oldKeyId,
    oldFingerprint: r.oldFingerprint,
    graceUntil: r.graceUntil,
    actor,
    reason,
  });
}
