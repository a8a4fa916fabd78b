import { timingSafeEqual } from 'node:crypto';
import { formatDuration } from '../duration.js';
import { createKeyHasher, type KeyHasher } from '../key-hash.js';
import { errorFields } from '../logger.js';
import type { KeyRecord, RotationRecord } from '../types.js';
import { itemFailed, lostRace, type PassContext } from './pass-context.js';
import { eachLimit } from './scheduler-events.js';
import type { DeliveryStatus } from './secret-sink.js';

/** What is known about a crashed rotation's delivery, and how. */
type Evidence = { status: DeliveryStatus; how: string };

/**
 * Step 1: decide the rotations a crash left `started` (older than `staleAfter`: the
 * process delivering them is gone, and so is their plaintext). The crash may have
 * come after the sink took the key and before the rotation was marked delivered, so
 * recovery never revokes a key that a consumer may hold:
 * - the new key was used, or the sink holds it (`confirm` → `held`): marked
 *   delivered, and step 3 finalizes it when its grace ends;
 * - the sink is sure it never got it (`absent`): rolled back as `failed` (the new
 *   key revoked, the old key stays active), and step 2 tries again after `retryAfter`;
 * - otherwise (`unknown`, no `confirm`, no sink): left open, both keys valid until
 *   its grace ends, counted in `unconfirmed` and reported by step 5
 *   (`key.orphaned`, problem `delivery_unknown`); a later pass that sees the new
 *   key used marks it delivered.
 * A `delivered` rotation needs no rescue: step 3 finalizes it on time.
 */
export async function recoverStaleRotations(ctx: PassContext): Promise<void> {
  const { keyward, config } = ctx;
  const cutoff = keyward.config.clock.now() - config.staleAfterMs;
  const stale = (await keyward.store.listRotations({ state: ['started'] })).filter((r) => r.createdAt <= cutoff);
  if (stale.length === 0) return;
  const hasher = createKeyHasher(keyward.config.pepper);
  const before = ctx.summary.unconfirmed;
  await eachLimit(stale, config.concurrency, async (rotation) => {
    try {
      await recoverOne(ctx, rotation, hasher);
    } catch (error) {
      if (!lostRace(error)) itemFailed(ctx, 'recover', { rotationId: rotation.id, clientId: rotation.clientId }, error);
    }
  });
  const unconfirmed = ctx.summary.unconfirmed - before;
  if (unconfirmed > 0) {
    config.logger.warn(
      { event: 'rotation.delivery_unknown', rotations: unconfirmed, sink: config.sink?.name ?? null },
      'keyward: crashed rotation(s) whose delivery cannot be confirmed left open; both keys stay valid until grace ends',
    );
  }
}

async function recoverOne(ctx: PassContext, rotation: RotationRecord, hasher: KeyHasher): Promise<void> {
  const { keyward, config } = ctx;
  const newKey = await keyward.store.findKeyById(rotation.newKeyId);
  const evidence: Evidence = newKey ? await deliveryEvidence(ctx, rotation, newKey, hasher) : { status: 'absent', how: 'new key gone' };
  if (evidence.status === 'held') {
    await keyward.markDelivered(rotation.id, {
      actor: config.actor,
      ...(config.sink ? { sink: config.sink.name } : {}),
      evidence: evidence.how,
    });
    ctx.summary.confirmed += 1;
  } else if (evidence.status === 'absent') {
    await keyward.abort(rotation.id, {
      error: `new key not delivered within ${formatDuration(config.staleAfterMs)} (the process delivering it stopped; ${evidence.how}); rolled back`,
      actor: config.actor,
    });
    ctx.summary.recovered += 1;
  } else {
    ctx.summary.unconfirmed += 1;
  }
}

/** First use proves delivery; else the sink is asked; a sink that cannot answer means unknown. */
async function deliveryEvidence(ctx: PassContext, rotation: RotationRecord, newKey: KeyRecord, hasher: KeyHasher): Promise<Evidence> {
  if (newKey.lastUsedAt !== null) return { status: 'held', how: 'new key used' };
  const { sink, logger } = ctx.config;
  if (sink?.confirm === undefined) return { status: 'unknown', how: sink ? `${sink.name} cannot confirm` : 'no sink' };
  const expected = Buffer.from(newKey.keyHash, 'utf8');
  try {
    const status = await sink.confirm({
      rotationId: rotation.id,
      clientId: rotation.clientId,
      keyId: newKey.id,
      fingerprint: newKey.fingerprint,
      isNewKey: (candidate) => {
        if (typeof candidate !== 'string') return false;
        const actual = Buffer.from(hasher(candidate), 'utf8');
        return actual.length === expected.length && timingSafeEqual(actual, expected);
      },
    });
    if (status === 'held') return { status, how: `${sink.name} holds it` };
    if (status === 'absent') return { status, how: `${sink.name} does not hold it` };
    return { status: 'unknown', how: `${sink.name} cannot tell` };
  } catch (error) {
    logger.warn(
      { step: 'recover', rotationId: rotation.id, clientId: rotation.clientId, fingerprint: newKey.fingerprint, ...errorFields(error) },
      'keyward: the sink could not confirm a crashed delivery; leaving the rotation open',
    );
    return { status: 'unknown', how: `${sink.name} failed to answer` };
  }
}
