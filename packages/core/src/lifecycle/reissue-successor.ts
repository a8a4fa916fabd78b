import { timeAfter } from '../duration.js';
import { ErrorCodes } from '../error-codes.js';
import { isKeywardError, KeywardError } from '../errors.js';
import { auditFor, keyUpdate, type OpsContext, patched, propagate } from '../ops-context.js';
import { graceWindow, inProgress, openRotation, type RotateOptions, type RotationResult, replay, rotateKey } from '../rotation.js';
import { announceRotation, planRotation } from '../rotation-plan.js';
import { type KeyPatch, OPEN_ROTATION_STATES } from '../types.js';
import { checkClientId, checkText } from '../validate.js';
import { checkRotationTimes } from './rotation-times.js';

const REASON = 'successor never used: reissued';

/**
 * The old key asks again for the successor it asked for and never used (the
 * answer with the plaintext was lost): in one batch, the unused pending key is
 * revoked, its rotation aborted, and a fresh successor issued in a new rotation
 * that ends no later than the first one did (the old key never gains time). Two
 * audit rows (`rotation.aborted`, `key.rotated`), one commit, and never two pending
 * keys. Refused (`KEYWARD_ROTATION_IN_PROGRESS`) when the successor was used, or
 * was not asked for by this key itself (`actor`), e.g. an operator's rotation.
 * Without an open rotation it is a plain `rotate`.
 */
export async function reissueUnusedSuccessor(
  ctx: OpsContext,
  clientIdInput: string,
  options: RotateOptions & { keyId: string; actor: string },
): Promise<RotationResult> {
  const clientId = checkClientId(clientIdInput);
  const token = checkText(options.idempotencyKey, 'idempotencyKey');
  const { store, clock } = ctx.config;
  if (token !== null) {
    const earlier = await store.findRotationByIdempotencyKey(clientId, token);
    if (earlier) return replay(ctx, earlier);
  }
  const [open] = await store.listRotations({ clientId, state: OPEN_ROTATION_STATES, limit: 1 });
  if (!open) return rotateKey(ctx, clientId, options);
  let opened: Awaited<ReturnType<typeof openRotation>>;
  try {
    opened = await openRotation(ctx, open.id);
  } catch (error) {
    // A concurrent reissue closed it between the two reads: report the rotation that won.
    if (!isKeywardError(error, ErrorCodes.ILLEGAL_TRANSITION)) throw error;
    throw (await inProgress(ctx, clientId)) ?? error;
  }
  const { rotation, oldKey, newKey } = opened;
  const refuse = (why: string) =>
    new KeywardError(ErrorCodes.ROTATION_IN_PROGRESS, `client ${clientId} has rotation ${rotation.id} in progress; ${why}`, {
      clientId,
      rotationId: rotation.id,
      graceUntil: rotation.graceUntil,
    });
  if (rotation.oldKeyId !== options.keyId || !oldKey || oldKey.status !== 'active') throw refuse('it rotates another key');
  if (rotation.actor !== options.actor || rotation.state !== 'delivered') throw refuse('its successor was not asked for by this key');
  if (rotation.firstUsedAt !== null || newKey.lastUsedAt !== null || newKey.status !== 'pending') throw refuse('its successor is in use');

  const now = clock.now();
  const graceMs = ctx.config.graceMs;
  const window = graceWindow(ctx, options, graceMs);
  const latest = Math.min(rotation.graceUntil, timeAfter(now, window.latestMs, 'grace'));
  checkRotationTimes(ctx, now, latest - now, options.ttl);
  const actor = options.actor;
  const reason = checkText(options.reason, 'reason');
  const plan = planRotation(ctx, oldKey, {
    now,
    graceUntil: latest,
    firstUse: window.firstUse,
    state: 'delivered',
    reason,
    actor,
    idempotencyKey: token,
    ttl: options.ttl,
  });
  const revoke: KeyPatch = { status: 'revoked', revokedAt: now, revokedReason: REASON, statusChangedAt: now };
  try {
    await store.commit({
      at: now,
      // Updates before inserts in every store: the old pending key and rotation close first.
      updateKeys: [keyUpdate(newKey, revoke), plan.oldUpdate],
      insertKeys: [plan.pending],
      updateRotations: [{ id: rotation.id, expectedVersion: rotation.version, patch: { state: 'aborted', completedAt: now } }],
      insertRotations: [plan.rotation],
      audit: [auditFor('rotation.aborted', now, newKey, { rotation, actor, reason: REASON }), plan.audit],
    });
  } catch (error) {
    if (!isKeywardError(error, ErrorCodes.CONFLICT)) throw error;
    const earlier = token === null ? null : await store.findRotationByIdempotencyKey(clientId, token);
    if (earlier) return replay(ctx, earlier);
    throw (await inProgress(ctx, clientId)) ?? error;
  }
  await propagate(ctx, [patched(newKey, revoke, now), ...plan.changed], [], [plan.rotation]);
  ctx.config.logger.warn(
    {
      event: 'rotation.reissued',
      clientId,
      rotationId: rotation.id,
      fingerprint: newKey.fingerprint,
      newRotationId: plan.rotation.id,
      actor,
    },
    'keyward: unused successor revoked and reissued',
  );
  ctx.events.emit('rotation.aborted', { at: now, clientId, rotationId: rotation.id, reason: REASON, actor });
  announceRotation(ctx, plan.result, now, actor, reason);
  return plan.result;
}
