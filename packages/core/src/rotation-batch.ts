import { type Duration, timeAfter } from './duration.js';
import { ErrorCodes } from './error-codes.js';
import { isKeywardError } from './errors.js';
import type { VersionedUpdate } from './key-store.js';
import { assertTransition } from './lifecycle.js';
import { auditFor, keyUpdate, type OpsContext, patched, propagate } from './ops-context.js';
import { graceWindow, type RotationResult } from './rotation.js';
import { announceRotation, planRotation } from './rotation-plan.js';
import type { GraceFrom, KeyPatch, KeyRecord, RotationRecord } from './types.js';
import { checkText } from './validate.js';

/**
 * Batch forms of the scheduler's lifecycle steps: many clients in ONE store
 * transaction. Audit appends are serialised by the hash chain, so one transaction
 * per rotation step caps a store at a few hundred rotations per second; a batch
 * pays that once. All or nothing, like every commit: when any item lost a race
 * (a compare-and-set or a uniqueness rule), the batch answers `undefined` and the
 * caller redoes its items one by one, where each race is decided on its own.
 */

export interface BatchItem {
  /** An active key not in a rotation (as listed moments ago; compare-and-set checks it is unchanged). */
  readonly key: KeyRecord;
  readonly idempotencyKey: string;
}

function lostRace(error: unknown): boolean {
  return isKeywardError(error, ErrorCodes.CONFLICT);
}

/** Starts one rotation per item (state `started`: the new keys still have to be delivered). */
export async function startRotations(
  ctx: OpsContext,
  items: readonly BatchItem[],
  options: { actor?: string; reason?: string; graceFrom?: GraceFrom; maxWait?: Duration } = {},
): Promise<RotationResult[] | undefined> {
  if (items.length === 0) return [];
  const actor = checkText(options.actor, 'actor');
  const reason = checkText(options.reason, 'reason');
  const window = graceWindow(ctx, options, ctx.config.graceMs);
  const now = ctx.config.clock.now();
  const graceUntil = timeAfter(now, window.latestMs, window.firstUse === undefined ? 'grace' : 'maxWait');
  const plans = items.map(({ key, idempotencyKey }) =>
    planRotation(ctx, key, { now, graceUntil, state: 'started', reason, actor, idempotencyKey, firstUse: window.firstUse }),
  );
  try {
    await ctx.config.store.commit({
      at: now,
      insertKeys: plans.map((p) => p.pending),
      updateKeys: plans.map((p) => p.oldUpdate),
      insertRotations: plans.map((p) => p.rotation),
      audit: plans.map((p) => p.audit),
    });
  } catch (error) {
    if (lostRace(error)) return undefined;
    throw error;
  }
  await propagate(
    ctx,
    plans.flatMap((p) => p.changed),
    [],
    plans.map((p) => p.rotation),
  );
  ctx.config.logger.info({ event: 'key.rotated', count: plans.length, actor }, 'keyward: rotations started (batch)');
  const results = plans.map((p) => p.result);
  for (const r of results) announceRotation(ctx, r, now, actor, reason);
  return results;
}

/** Marks rotations just started by `startRotations` (version 1) as delivered. */
export async function markDeliveredMany(
  ctx: OpsContext,
  rotations: readonly RotationResult[],
  options: { actor?: string; sink?: string } = {},
): Promise<boolean> {
  if (rotations.length === 0) return true;
  const actor = checkText(options.actor, 'actor');
  const now = ctx.config.clock.now();
  const data = options.sink ? { sink: options.sink } : {};
  try {
    await ctx.config.store.commit({
      at: now,
      updateRotations: rotations.map((r) => ({ id: r.rotationId, expectedVersion: 1, patch: { state: 'delivered' } })),
      audit: rotations.map((r) =>
        auditFor(
          'rotation.delivered',
          now,
          { clientId: r.clientId, id: r.newKeyId, fingerprint: r.fingerprint },
          { actor, data, rotation: { id: r.rotationId, clientId: r.clientId } },
        ),
      ),
    });
  } catch (error) {
    if (lostRace(error)) return false;
    throw error;
  }
  ctx.config.logger.info({ event: 'rotation.delivered', count: rotations.length, actor }, 'keyward: new keys delivered (batch)');
  for (const r of rotations) {
    ctx.events.emit('rotation.delivered', {
      at: now,
      clientId: r.clientId,
      keyId: r.newKeyId,
      fingerprint: r.fingerprint,
      rotationId: r.rotationId,
      actor,
      sink: options.sink ?? null,
    });
  }
  return true;
}

/** Finalizes delivered rotations (their keys loaded by the caller): pending → active, old → inactive. */
export async function finalizeMany(
  ctx: OpsContext,
  items: readonly { rotation: RotationRecord; oldKey: KeyRecord | null; newKey: KeyRecord }[],
  options: { actor?: string } = {},
): Promise<boolean> {
  if (items.length === 0) return true;
  const actor = checkText(options.actor, 'actor');
  const now = ctx.config.clock.now();
  const updateKeys: VersionedUpdate<KeyPatch>[] = [];
  const changed: KeyRecord[] = [];
  for (const { rotation, oldKey, newKey } of items) {
    if (rotation.state !== 'delivered' || newKey.status !== 'pending') return false;
    assertTransition(newKey.status, 'active', newKey.fingerprint);
    const promote: KeyPatch = { status: 'active', statusChangedAt: now };
    updateKeys.push(keyUpdate(newKey, promote));
    changed.push(patched(newKey, promote, now));
    if (oldKey && oldKey.status === 'active') {
      const retire: KeyPatch = { status: 'inactive', statusChangedAt: now };
      updateKeys.push(keyUpdate(oldKey, retire));
      changed.push(patched(oldKey, retire, now));
    }
  }
  try {
    await ctx.config.store.commit({
      at: now,
      updateKeys,
      updateRotations: items.map(({ rotation }) => ({
        id: rotation.id,
        expectedVersion: rotation.version,
        patch: { state: 'completed', completedAt: now },
      })),
      audit: items.map(({ rotation, oldKey, newKey }) =>
        auditFor('key.finalized', now, newKey, {
          rotation,
          actor,
          data: { retiredKeyId: rotation.oldKeyId, retiredFingerprint: oldKey?.fingerprint ?? null },
        }),
      ),
    });
  } catch (error) {
    if (lostRace(error)) return false;
    throw error;
  }
  await propagate(ctx, changed);
  ctx.config.logger.info({ event: 'key.finalized', count: items.length, actor }, 'keyward: rotations finalized (batch)');
  for (const { rotation, oldKey, newKey } of items) {
    ctx.events.emit('key.finalized', {
      at: now,
      clientId: rotation.clientId,
      keyId: newKey.id,
      fingerprint: newKey.fingerprint,
      rotationId: rotation.id,
      retiredKeyId: rotation.oldKeyId,
      retiredFingerprint: oldKey?.fingerprint ?? '',
      actor,
    });
  }
  return true;
}
