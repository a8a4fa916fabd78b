import { errorFields } from '../logger.js';
import type { KeyRecord, RotationRecord } from '../types.js';
import { itemFailed, lostRace, type PassContext } from './pass-context.js';
import { eachLimit } from './scheduler-events.js';

/** Rotations finalized per store transaction. */
const FINALIZE_CHUNK = 100;

/**
 * Step 3: finalize delivered rotations whose grace has ended (pending → active,
 * old → inactive), a chunk per transaction; a chunk that lost a race to another
 * process is redone one rotation at a time.
 */
export async function finalizeDueRotations(ctx: PassContext): Promise<void> {
  const { keyward, config } = ctx;
  const now = keyward.config.clock.now();
  const due = await keyward.store.listRotations({ state: ['delivered'], graceEndedBefore: now });
  const chunks: RotationRecord[][] = [];
  for (let i = 0; i < due.length; i += FINALIZE_CHUNK) chunks.push(due.slice(i, i + FINALIZE_CHUNK));
  // Two chunks in flight: one loads its keys while the other is in the store.
  await eachLimit(chunks, 2, async (chunk) => {
    if (await finalizeChunk(ctx, chunk)) ctx.summary.finalized += chunk.length;
    else await eachLimit(chunk, config.concurrency, (rotation) => finalizeOne(ctx, rotation));
  });
}

async function finalizeChunk(ctx: PassContext, chunk: readonly RotationRecord[]): Promise<boolean> {
  const { keyward, config } = ctx;
  const items: { rotation: RotationRecord; oldKey: KeyRecord | null; newKey: KeyRecord }[] = [];
  try {
    await eachLimit(chunk, config.concurrency, async (rotation) => {
      const [oldKey, newKey] = await Promise.all([
        keyward.store.findKeyById(rotation.oldKeyId),
        keyward.store.findKeyById(rotation.newKeyId),
      ]);
      if (newKey) items.push({ rotation, oldKey, newKey });
    });
    return items.length === chunk.length && (await keyward.finalizeMany(items, { actor: config.actor }));
  } catch (error) {
    config.logger.warn(
      { step: 'finalize', rotations: chunk.length, ...errorFields(error) },
      'keyward: batch finalize failed; finalizing one by one',
    );
    return false;
  }
}

async function finalizeOne(ctx: PassContext, rotation: RotationRecord): Promise<void> {
  try {
    await ctx.keyward.finalize(rotation.id, { actor: ctx.config.actor });
    ctx.summary.finalized += 1;
  } catch (error) {
    if (!lostRace(error)) itemFailed(ctx, 'finalize', { rotationId: rotation.id, clientId: rotation.clientId }, error);
  }
}

const PURGE_BATCH = 1000;

/** Step 4: delete revoked and inactive keys older than the retention period (the audit trail stays). */
export async function purgeRetired(ctx: PassContext): Promise<void> {
  for (;;) {
    const { purged } = await ctx.keyward.purge({ actor: ctx.config.actor, limit: PURGE_BATCH });
    ctx.summary.purged += purged;
    if (purged < PURGE_BATCH) return;
  }
}
