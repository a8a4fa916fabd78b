import { ErrorCodes } from './error-codes.js';
import { KeywardError } from './errors.js';
import { assertTransition } from './lifecycle.js';
import { auditFor, keyUpdate, type OpsContext, patched, propagate } from './ops-context.js';
import { openRotation } from './rotation.js';
import type { KeyPatch, KeyRecord, RotationRecord } from './types.js';
import { checkText } from './validate.js';

export interface FinalizeResult {
  readonly rotationId: string;
  readonly clientId: string;
  readonly keyId: string;
  readonly fingerprint: string;
  readonly retiredKeyId: string;
  readonly retiredFingerprint: string;
}

/**
 * Completes a delivered rotation: the pending key becomes active and the old key
 * inactive. The scheduler calls it when grace ends; an operator may call it early.
 * One compare-and-set batch: a concurrent finalize or abort makes this one fail.
 */
export async function finalizeRotation(ctx: OpsContext, rotationId: string, options: { actor?: string } = {}): Promise<FinalizeResult> {
  const actor = checkText(options.actor, 'actor');
  const { rotation, oldKey, newKey } = await openRotation(ctx, rotationId);
  if (rotation.state !== 'delivered') {
    throw new KeywardError(
      ErrorCodes.ILLEGAL_TRANSITION,
      `rotation ${rotationId} is ${rotation.state}: its new key was never delivered, so it cannot be finalized`,
      { rotationId, state: rotation.state },
    );
  }
  assertTransition(newKey.status, 'active', newKey.fingerprint);
  const now = ctx.config.clock.now();
  const newPatch: KeyPatch = { status: 'active', statusChangedAt: now };
  const updates = [keyUpdate(newKey, newPatch)];
  const changed = [patched(newKey, newPatch, now)];
  const retire: KeyPatch = { status: 'inactive', statusChangedAt: now };
  if (oldKey && oldKey.status === 'active') {
    updates.push(keyUpdate(oldKey, retire));
    changed.push(patched(oldKey, retire, now));
  }
  await ctx.config.store.commit({
    at: now,
    updateKeys: updates,
    updateRotations: [{ id: rotation.id, expectedVersion: rotation.version, patch: { state: 'completed', completedAt: now } }],
    audit: [
      auditFor('key.finalized', now, newKey, {
        rotation,
        actor,
        data: { retiredKeyId: rotation.oldKeyId, retiredFingerprint: oldKey?.fingerprint ?? null },
      }),
    ],
  });
  await propagate(ctx, changed);
  const result = {
    rotationId,
    clientId: rotation.clientId,
    keyId: newKey.id,
    fingerprint: newKey.fingerprint,
    retiredKeyId: rotation.oldKeyId,
    retiredFingerprint: oldKey?.fingerprint ?? '',
  };
  ctx.config.logger.info({ event: 'key.finalized', ...result, actor }, 'keyward: rotation finalized');
  ctx.events.emit('key.finalized', { at: now, ...result, actor });
  return result;
}

/** The writes that cancel a rotation: the new key revoked, the old key back to plain active. */
export function cancelWrites(rotation: RotationRecord, oldKey: KeyRecord | null, newKey: KeyRecord, now: number, reason: string) {
  const revokePatch: KeyPatch = { status: 'revoked', revokedAt: now, revokedReason: reason, statusChangedAt: now };
  const updates = [keyUpdate(newKey, revokePatch)];
  const changed = [patched(newKey, revokePatch, now)];
  if (oldKey && oldKey.status === 'active' && oldKey.rotationId === rotation.id) {
    const restore: KeyPatch = { graceUntil: null };
    updates.push(keyUpdate(oldKey, restore));
    changed.push(patched(oldKey, restore, now));
  }
  return { updates, changed };
}

/**
 * Cancels an open rotation: the old key stays active (its grace is lifted) and the
 * new key is revoked. `error` marks it `failed` (e.g. delivery kept failing) rather
 * than `aborted`.
 */
export async function abortRotation(
  ctx: OpsContext,
  rotationId: string,
  options: { reason?: string; actor?: string; error?: string } = {},
): Promise<void> {
  const reason = checkText(options.reason, 'reason') ?? (options.error ? 'rotation failed' : 'rotation aborted');
  const actor = checkText(options.actor, 'actor');
  const { rotation, oldKey, newKey } = await openRotation(ctx, rotationId);
  assertTransition(newKey.status, 'revoked', newKey.fingerprint);
  const now = ctx.config.clock.now();
  const { updates, changed } = cancelWrites(rotation, oldKey, newKey, now, reason);
  const failed = options.error !== undefined;
  await ctx.config.store.commit({
    at: now,
    updateKeys: updates,
    updateRotations: [
      {
        id: rotation.id,
        expectedVersion: rotation.version,
        patch: { state: failed ? 'failed' : 'aborted', completedAt: now, lastError: options.error ?? null },
      },
    ],
    audit: [
      auditFor(failed ? 'rotation.failed' : 'rotation.aborted', now, newKey, {
        rotation,
        actor,
        reason,
        data: failed ? { error: options.error } : {},
      }),
    ],
  });
  await propagate(ctx, changed);
  ctx.config.logger.warn(
    {
      event: failed ? 'rotation.failed' : 'rotation.aborted',
      rotationId,
      clientId: rotation.clientId,
      fingerprint: newKey.fingerprint,
      reason,
      actor,
    },
    'keyward: rotation cancelled',
  );
  if (failed) ctx.events.emit('rotation.failed', { at: now, clientId: rotation.clientId, rotationId, error: options.error as string });
  else ctx.events.emit('rotation.aborted', { at: now, clientId: rotation.clientId, rotationId, reason, actor });
}

export interface MarkDeliveredOptions {
  actor?: string;
  /** The sink that delivered the key (audit data `sink`). */
  sink?: string;
  /** How delivery is known when it was not seen directly, e.g. after a crash (audit data `evidence`). */
  evidence?: string;
}

/**
 * Records that the new key of a `started` rotation reached its client (a secret
 * sink accepted it): `started → delivered`. Only a delivered rotation may finalize.
 */
export async function markRotationDelivered(ctx: OpsContext, rotationId: string, options: MarkDeliveredOptions = {}): Promise<void> {
  const actor = checkText(options.actor, 'actor');
  const evidence = checkText(options.evidence, 'evidence');
  const { rotation, newKey } = await openRotation(ctx, rotationId);
  if (rotation.state !== 'started') {
    throw new KeywardError(ErrorCodes.ILLEGAL_TRANSITION, `rotation ${rotationId} is ${rotation.state}, not started`, {
      rotationId,
      state: rotation.state,
    });
  }
  const now = ctx.config.clock.now();
  await ctx.config.store.commit({
    at: now,
    updateRotations: [{ id: rotation.id, expectedVersion: rotation.version, patch: { state: 'delivered' } }],
    audit: [
      auditFor('rotation.delivered', now, newKey, {
        rotation,
        actor,
        data: { ...(options.sink ? { sink: options.sink } : {}), ...(evidence ? { evidence } : {}) },
      }),
    ],
  });
  ctx.config.logger.info(
    { event: 'rotation.delivered', rotationId, clientId: rotation.clientId, fingerprint: newKey.fingerprint, actor },
    'keyward: new key delivered',
  );
  ctx.events.emit('rotation.delivered', {
    at: now,
    clientId: rotation.clientId,
    keyId: newKey.id,
    fingerprint: newKey.fingerprint,
    rotationId,
    actor,
    sink: options.sink ?? null,
  });
}
