import { ErrorCodes } from './error-codes.js';
import { isKeywardError, KeywardError } from './errors.js';
import type { VersionedUpdate, WriteBatch } from './key-store.js';
import { assertTransition } from './lifecycle.js';
import { auditFor, keyUpdate, type OpsContext, patched, propagate } from './ops-context.js';
import { openRotation } from './rotation.js';
import { cancelWrites } from './rotation-end.js';
import type { RotationPatch } from './types.js';
import { type KeyPatch, type KeyRecord, OPEN_ROTATION_STATES } from './types.js';
import { checkText } from './validate.js';

export interface RevokeOptions {
  /** Why (compromise, offboarding, ...). Required: it goes to the audit trail. */
  reason: string;
  actor?: string;
}

/**
 * Revokes a key at once. Inside an open rotation: revoking the new key cancels the
 * rotation (the old key stays); revoking the old key completes it early (the new
 * key becomes active), so the client is never left without its successor.
 */
export async function revokeKey(ctx: OpsContext, keyId: string, options: RevokeOptions): Promise<KeyRecord> {
  const reason = checkText(options?.reason, 'reason', true) as string;
  const actor = checkText(options.actor, 'actor');
  const { store, clock } = ctx.config;
  const key = await store.findKeyById(keyId);
  if (!key) throw new KeywardError(ErrorCodes.NOT_FOUND, `no key ${keyId}`, { keyId });
  assertTransition(key.status, 'revoked', key.fingerprint);
  const now = clock.now();
  const revokePatch: KeyPatch = { status: 'revoked', revokedAt: now, revokedReason: reason, statusChangedAt: now };
  const batch: { at: number; updateKeys: VersionedUpdate<KeyPatch>[]; updateRotations: VersionedUpdate<RotationPatch>[] } = {
    at: now,
    updateKeys: [],
    updateRotations: [],
  };
  const changed: KeyRecord[] = [];

  const rotation = key.rotationId === null ? null : await store.findRotation(key.rotationId);
  if (rotation && OPEN_ROTATION_STATES.includes(rotation.state)) {
    const { oldKey, newKey } = await openRotation(ctx, rotation.id);
    if (key.id === rotation.newKeyId) {
      const cancel = cancelWrites(rotation, oldKey, newKey, now, reason);
      batch.updateKeys.push(...cancel.updates);
      changed.push(...cancel.changed);
      batch.updateRotations.push({
        id: rotation.id,
        expectedVersion: rotation.version,
        patch: { state: 'aborted', completedAt: now, lastError: null },
      });
    } else {
      const promote: KeyPatch = { status: 'active', statusChangedAt: now };
      batch.updateKeys.push(keyUpdate(key, revokePatch), keyUpdate(newKey, promote));
      changed.push(patched(key, revokePatch, now), patched(newKey, promote, now));
      batch.updateRotations.push({ id: rotation.id, expectedVersion: rotation.version, patch: { state: 'completed', completedAt: now } });
    }
  } else {
    batch.updateKeys.push(keyUpdate(key, revokePatch));
    changed.push(patched(key, revokePatch, now));
  }
  await store.commit({
    ...batch,
    audit: [auditFor('key.revoked', now, key, { rotation, actor, reason, data: { previousStatus: key.status } })],
  });
  await propagate(ctx, changed);
  announceRevoked(ctx, key, { at: now, reason, actor, rotationId: rotation?.id ?? null });
  return changed.find((k) => k.id === keyId) as KeyRecord;
}

/** The log line and `key.revoked` event of a committed, propagated revocation (`key` as it was before). */
export function announceRevoked(
  ctx: OpsContext,
  key: KeyRecord,
  revocation: { at: number; reason: string; actor: string | null; rotationId: string | null },
): void {
  const { at, reason, actor, rotationId } = revocation;
  ctx.config.logger.warn(
    { event: 'key.revoked', clientId: key.clientId, keyId: key.id, fingerprint: key.fingerprint, reason, actor },
    'keyward: key revoked',
  );
  ctx.events.emit('key.revoked', {
    at,
    clientId: key.clientId,
    keyId: key.id,
    fingerprint: key.fingerprint,
    reason,
    actor,
    previousStatus: key.status,
    rotationId,
  });
}

export interface PurgeResult {
  readonly purged: number;
  readonly fingerprints: readonly string[];
}

/**
 * Deletes revoked and inactive keys whose status changed more than `retention` ago.
 * The audit trail keeps their history. A key changed concurrently is skipped.
 */
export async function purgeKeys(ctx: OpsContext, options: { actor?: string; limit?: number } = {}): Promise<PurgeResult> {
  const actor = checkText(options.actor, 'actor');
  const { store, clock, retentionMs } = ctx.config;
  const now = clock.now();
  const due = await store.listKeys({
    status: ['revoked', 'inactive'],
    statusChangedBefore: now - retentionMs,
    limit: options.limit ?? 1000,
  });
  const purged: KeyRecord[] = [];
  try {
    await purgeEach();
  } finally {
    await propagate(ctx, [], purged);
  }
  if (purged.length > 0) ctx.config.logger.info({ event: 'key.purged', count: purged.length, actor }, 'keyward: purged retired keys');
  return { purged: purged.length, fingerprints: purged.map((k) => k.fingerprint) };

  async function purgeEach(): Promise<void> {
    for (const key of due) {
      const batch: WriteBatch = {
        at: now,
        deleteKeys: [{ id: key.id, expectedVersion: key.version }],
        audit: [auditFor('key.purged', now, key, { actor, data: { status: key.status } })],
      };
      try {
        await store.commit(batch);
      } catch (error) {
        if (isKeywardError(error, ErrorCodes.CONFLICT)) continue;
        throw error;
      }
      purged.push(key);
      ctx.events.emit('key.purged', { at: now, clientId: key.clientId, keyId: key.id, fingerprint: key.fingerprint, status: key.status });
    }
  }
}
