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
  ctx.config.logger.warn(
    { event: 'key.revoked', clientId: key.clientId, keyId, fingerprint: key.fingerprint, reason, actor },
    'keyward: key revoked',
  );
  ctx.events.emit('key.revoked', {
    at: now,
    clientId: key.clientId,
    keyId,
    fingerprint: key.fingerprint,
    reason,
    actor,
    previousStatus: key.status,
    rotationId: rotation?.id ?? null,
  });
  return changed.find((k) => k.id === keyId) as KeyRecord;
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

export interface UnrevokeOptions {
  /** Why the revoke was a mistake. Required: it goes to the audit trail. */
  reason: string;
  actor?: string;
}

/** Revocation reasons that can never be undone: the key may be in someone else's hands. */
const EXPOSED = /\b(leak|leaked|compromise|compromised|exposed)\b/i;

function refused(key: KeyRecord, why: string): KeywardError {
  return new KeywardError(ErrorCodes.ILLEGAL_TRANSITION, `key ${key.fingerprint} cannot be unrevoked: ${why}`, {
    fingerprint: key.fingerprint,
  });
}

/**
 * Undoes a mistaken revoke (issue 21): the key is accepted again, by every process
 * within about a second (the change log), exactly as it was before. Only within
 * `unrevokeWindow` of the revoke (default 60 min; `0` disables it), and never for:
 * - a key revoked because it was exposed (a reason saying leaked, compromised or
 *   exposed, as leak reports write): someone else may hold it;
 * - a key that took part in a rotation when it was revoked (its successor was
 *   promoted or its rotation cancelled, and the client moved on);
 * - a key whose client has been issued another key since;
 * - a purged key (it no longer exists), or one that has expired meanwhile.
 * Audited as `key.unrevoked` with the actor and reason.
 */
export async function unrevokeKey(ctx: OpsContext, keyId: string, options: UnrevokeOptions): Promise<KeyRecord> {
  const reason = checkText(options?.reason, 'reason', true) as string;
  const actor = checkText(options.actor, 'actor');
  const { store, clock, unrevokeWindowMs } = ctx.config;
  const key = await store.findKeyById(keyId);
  if (!key) throw new KeywardError(ErrorCodes.NOT_FOUND, `no key ${keyId} (a purged key cannot be unrevoked)`, { keyId });
  if (key.status !== 'revoked') throw refused(key, `it is ${key.status}, not revoked`);
  const now = clock.now();
  if (unrevokeWindowMs === 0) throw refused(key, 'unrevoke is disabled (unrevokeWindow 0)');
  if (key.revokedAt === null || now - key.revokedAt > unrevokeWindowMs) {
    throw refused(key, `it was revoked more than ${Math.round(unrevokeWindowMs / 60_000)} min ago (unrevokeWindow)`);
  }
  if (key.revokedReason !== null && EXPOSED.test(key.revokedReason)) {
    throw refused(key, `it was revoked as exposed ("${key.revokedReason}"); issue a new key instead`);
  }
  if (key.graceUntil !== null || key.replaces !== null) {
    const rotation = key.rotationId === null ? null : await store.findRotation(key.rotationId);
    // A key that became active through a rotation that completed before the revoke is a plain active key.
    const tookPart = key.graceUntil !== null || rotation === null || rotation.completedAt === null || rotation.completedAt >= key.revokedAt;
    if (tookPart) throw refused(key, 'it was part of a rotation when it was revoked, and its client moved on');
  }
  if (key.expiresAt !== null && now >= key.expiresAt) throw refused(key, 'it has expired since');
  const newer = (await store.listKeys({ clientId: key.clientId })).filter(
    (k) => k.id !== key.id && k.createdAt >= (key.revokedAt as number),
  );
  if (newer.length > 0) throw refused(key, `client ${key.clientId} has been issued key ${newer[0]?.fingerprint} since`);
  const patch: KeyPatch = { status: 'active', revokedAt: null, revokedReason: null, statusChangedAt: now };
  await store.commit({
    at: now,
    updateKeys: [keyUpdate(key, patch)],
    audit: [auditFor('key.unrevoked', now, key, { actor, reason, data: { revokedAt: key.revokedAt, revokedReason: key.revokedReason } })],
  });
  const restored = patched(key, patch, now);
  await propagate(ctx, [restored]);
  ctx.config.logger.warn(
    { event: 'key.unrevoked', clientId: key.clientId, keyId, fingerprint: key.fingerprint, reason, actor },
    'keyward: key unrevoked',
  );
  ctx.events.emit('key.unrevoked', {
    at: now,
    clientId: key.clientId,
    keyId,
    fingerprint: key.fingerprint,
    reason,
    actor,
    revokedAt: key.revokedAt as number,
  });
  return restored;
}
