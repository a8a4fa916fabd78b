import { type Duration, formatDuration, parseDuration } from '../duration.js';
import { ErrorCodes } from '../error-codes.js';
import { KeywardError } from '../errors.js';
import { auditFor, keyUpdate, type OpsContext, patched, propagate } from '../ops-context.js';
import { openRotation } from '../rotation.js';
import type { KeyRecord } from '../types.js';
import { checkText } from '../validate.js';

export interface ExtendGraceOptions {
  /** How much longer the old key is accepted, from its current grace end (e.g. `24h`). */
  by: Duration;
  actor?: string;
  reason?: string;
}

/** The longest one extension may add: a grace is hours or days, not a way to keep an old key forever. */
const MAX_EXTENSION_MS = 30 * 24 * 3_600_000;

/**
 * Gives the old key of an open rotation more time (the operator console's "extend the
 * grace"): the rotation's and the old key's `graceUntil` move later by `by`, in one
 * commit with a `rotation.extended` audit row, and every process hears the change as
 * it hears any other. A grace that has already ended cannot be extended (the old key
 * may already be refused somewhere); start a new rotation instead.
 */
export async function extendGrace(ctx: OpsContext, rotationId: string, options: ExtendGraceOptions): Promise<{ graceUntil: number }> {
  const byMs = parseDuration(options.by, 'by');
  if (byMs <= 0 || byMs > MAX_EXTENSION_MS) {
    throw new KeywardError(ErrorCodes.INVALID_ARGUMENT, `by must be more than 0 and at most ${formatDuration(MAX_EXTENSION_MS)}`, {
      by: options.by,
    });
  }
  const actor = checkText(options.actor, 'actor');
  const reason = checkText(options.reason, 'reason');
  const { rotation, oldKey } = await openRotation(ctx, rotationId);
  const now = ctx.config.clock.now();
  if (rotation.graceUntil <= now) {
    throw new KeywardError(ErrorCodes.ILLEGAL_TRANSITION, `the grace of rotation ${rotationId} has already ended`, {
      rotationId,
      graceUntil: rotation.graceUntil,
    });
  }
  const graceUntil = rotation.graceUntil + byMs;
  const inGrace = oldKey !== null && oldKey.graceUntil !== null && (oldKey.status === 'active' || oldKey.status === 'pending');
  const changed: KeyRecord[] = inGrace ? [patched(oldKey, { graceUntil }, now)] : [];
  await ctx.config.store.commit({
    at: now,
    updateKeys: inGrace ? [keyUpdate(oldKey, { graceUntil })] : [],
    updateRotations: [{ id: rotation.id, expectedVersion: rotation.version, patch: { graceUntil } }],
    audit: [
      auditFor('rotation.extended', now, oldKey, {
        rotation,
        actor,
        reason,
        data: { from: rotation.graceUntil, to: graceUntil },
      }),
    ],
  });
  await propagate(ctx, changed, [], [{ ...rotation, graceUntil, version: rotation.version + 1, updatedAt: now }]);
  ctx.config.logger.info(
    { event: 'rotation.extended', rotationId, clientId: rotation.clientId, fingerprint: oldKey?.fingerprint, graceUntil, actor },
    'keyward: rotation grace extended',
  );
  return { graceUntil };
}
