import { errorFields } from '../logger.js';
import type { RotationResult } from '../rotation.js';
import type { KeyRecord } from '../types.js';
import { OPEN_ROTATION_STATES } from '../types.js';
import { itemFailed, lostRace, type PassContext } from './pass-context.js';
import { eachLimit } from './scheduler-events.js';
import { safeErrorMessage } from './secret-sink.js';

const DAY = 86_400_000;

/**
 * Step 2: active keys within `rotateBefore` of expiry. With a sink, each gets a
 * rotation (idempotency token from key id, expiry and version, so a pass retried
 * or racing another process gets the same rotation back instead of a second one)
 * and its new key delivered; without one, `key.expiring` is raised instead.
 */
export async function rotateDueKeys(ctx: PassContext): Promise<void> {
  const { keyward, config } = ctx;
  const now = keyward.config.clock.now();
  const due = (await keyward.store.listKeys({ status: ['active'], expiresBefore: now + config.rotateBeforeMs })).filter(
    (k) => k.graceUntil === null,
  );
  if (due.length === 0) return;
  const busy = new Set((await keyward.store.listRotations({ state: OPEN_ROTATION_STATES })).map((r) => r.clientId));
  const todo = due.filter((k) => !busy.has(k.clientId));
  const ready: KeyRecord[] = [];
  for (const key of todo) {
    if (config.sink === undefined || (await waitingForRetry(ctx, key, now))) notifyExpiring(ctx, key, now);
    else ready.push(key);
  }
  const chunks: KeyRecord[][] = [];
  for (let i = 0; i < ready.length; i += CHUNK) chunks.push(ready.slice(i, i + CHUNK));
  // Two chunks in flight: one delivers its keys while the other is in the store.
  await eachLimit(chunks, CHUNKS_IN_FLIGHT, (chunk) => rotateChunk(ctx, chunk));
}

/** Clients rotated per store transaction (see rotation-batch.ts in the core). */
const CHUNK = 100;
const CHUNKS_IN_FLIGHT = 2;

const scheduledToken = (key: KeyRecord) => `scheduled:${key.id}:${key.expiresAt}:${key.version}`;

/**
 * One chunk: its rotations started in one transaction, each new key delivered,
 * the delivered ones marked in one transaction. When the batch lost a race (another
 * process or an operator got to one of these clients first), the chunk is redone
 * one client at a time, where each race is settled on its own.
 */
async function rotateChunk(ctx: PassContext, chunk: readonly KeyRecord[]): Promise<void> {
  const { keyward, config } = ctx;
  const sink = config.sink as NonNullable<typeof config.sink>;
  let started: RotationResult[] | undefined;
  try {
    started = await keyward.startRotations(
      chunk.map((key) => ({ key, idempotencyKey: scheduledToken(key) })),
      { actor: config.actor, reason: 'scheduled: key near expiry', graceFrom: config.graceFrom },
    );
  } catch (error) {
    config.logger.warn(
      { step: 'rotate', clients: chunk.length, ...errorFields(error) },
      'keyward: batch rotation failed; rotating one by one',
    );
  }
  if (started === undefined) {
    await eachLimit(chunk, config.concurrency, (key) => rotateSafely(ctx, key));
    return;
  }
  ctx.summary.rotated += started.length;
  const delivered: RotationResult[] = [];
  await eachLimit(started, config.concurrency, async (result) => {
    if (await deliver(ctx, result)) delivered.push(result);
  });
  let marked = false;
  try {
    marked = await keyward.markDeliveredMany(delivered, { sink: sink.name, actor: config.actor });
  } catch (error) {
    config.logger.warn(
      { step: 'rotate', rotations: delivered.length, ...errorFields(error) },
      'keyward: batch delivery mark failed; marking one by one',
    );
  }
  if (marked) {
    for (const result of delivered) deliveredOne(ctx, result);
    return;
  }
  await eachLimit(delivered, config.concurrency, async (result) => {
    try {
      await keyward.markDelivered(result.rotationId, { sink: sink.name, actor: config.actor });
      deliveredOne(ctx, result);
    } catch (error) {
      if (!lostRace(error) || (await rolledBackMeanwhile(ctx, result)))
        itemFailed(ctx, 'rotate', { clientId: result.clientId, fingerprint: result.fingerprint, rotationId: result.rotationId }, error);
    }
  });
}

/**
 * A delivery slower than `staleAfter` can find its rotation rolled back by another
 * process's recovery: the client now holds a revoked key. Never a quiet lost race.
 */
async function rolledBackMeanwhile(ctx: PassContext, result: RotationResult): Promise<boolean> {
  const state = (await ctx.keyward.store.findRotation(result.rotationId).catch(() => undefined))?.state;
  return state === 'failed' || state === 'aborted';
}

async function rotateSafely(ctx: PassContext, key: KeyRecord): Promise<void> {
  try {
    await rotateOne(ctx, key, ctx.keyward.config.clock.now());
  } catch (error) {
    itemFailed(ctx, 'rotate', { clientId: key.clientId, fingerprint: key.fingerprint }, error);
  }
}

function deliveredOne(ctx: PassContext, result: RotationResult): void {
  const sink = ctx.config.sink as NonNullable<typeof ctx.config.sink>;
  ctx.summary.delivered += 1;
  const { rotationId, clientId, fingerprint } = result;
  ctx.events.emit('delivered', { at: ctx.keyward.config.clock.now(), rotationId, clientId, fingerprint, sink: sink.name });
}

async function rotateOne(ctx: PassContext, key: KeyRecord, now: number): Promise<void> {
  const { keyward, config } = ctx;
  const { sink } = config;
  if (sink === undefined || (await waitingForRetry(ctx, key, now))) {
    notifyExpiring(ctx, key, now);
    return;
  }
  let result: RotationResult;
  try {
    result = await keyward.startRotation(key.clientId, {
      keyId: key.id,
      idempotencyKey: scheduledToken(key),
      actor: config.actor,
      reason: 'scheduled: key near expiry',
      graceFrom: config.graceFrom,
    });
  } catch (error) {
    if (lostRace(error)) return; // another process (or an operator) is rotating this client
    throw error;
  }
  // A replay means another pass started this very rotation: it delivers, not us.
  if (result.replayed || result.key === undefined) return;
  ctx.summary.rotated += 1;
  if (!(await deliver(ctx, result))) return;
  await keyward.markDelivered(result.rotationId, { sink: sink.name, actor: config.actor });
  deliveredOne(ctx, result);
}

/**
 * Hands a new key to the sink. A delivery that fails for good fails the rotation
 * (its undelivered key is revoked, the old key stays) and answers `false`. The
 * order (rotation stored `started`, key handed over, rotation marked delivered) is
 * what recovery relies on after a crash: see step-recover.ts.
 */
async function deliver(ctx: PassContext, result: RotationResult): Promise<boolean> {
  const { keyward, config } = ctx;
  const sink = config.sink as NonNullable<typeof config.sink>;
  const { rotationId, clientId, fingerprint } = result;
  try {
    await sink.deliver({
      rotationId,
      clientId,
      keyId: result.newKeyId,
      key: result.key as string,
      fingerprint,
      graceUntil: result.graceUntil,
      expiresAt: result.expiresAt,
    });
    return true;
  } catch (error) {
    const message = safeErrorMessage(error, result.key as string);
    ctx.summary.failed += 1;
    config.logger.error(
      { event: 'rotation.delivery_failed', rotationId, clientId, fingerprint, sink: sink.name, error: message },
      'keyward: key delivery failed; failing the rotation',
    );
    ctx.events.emit('deliveryFailed', {
      at: keyward.config.clock.now(),
      rotationId,
      clientId,
      fingerprint,
      sink: sink.name,
      error: message,
    });
    try {
      await keyward.abort(rotationId, { error: `delivery via ${sink.name} failed: ${message}`, actor: config.actor });
    } catch (abortError) {
      if (!lostRace(abortError)) itemFailed(ctx, 'rotate', { clientId, fingerprint }, abortError);
    }
    return false;
  }
}

/** After a failed or aborted rotation of this key, wait `retryAfter` before the next try. */
async function waitingForRetry(ctx: PassContext, key: KeyRecord, now: number): Promise<boolean> {
  if (key.rotationId === null) return false;
  const last = await ctx.keyward.store.findRotation(key.rotationId);
  if (!last || last.oldKeyId !== key.id || (last.state !== 'failed' && last.state !== 'aborted')) return false;
  return (last.completedAt ?? last.updatedAt) + ctx.config.retryAfterMs > now;
}

/** Raises `key.expiring` at most once per key per `noticeInterval`. */
function notifyExpiring(ctx: PassContext, key: KeyRecord, now: number): void {
  const expiresAt = key.expiresAt as number;
  if (!ctx.notices.hit(`expiring:${key.id}`, now).allow) return;
  const daysLeft = Math.max(0, Math.floor((expiresAt - now) / DAY));
  ctx.summary.expiring += 1;
  ctx.config.logger.warn(
    { event: 'key.expiring', clientId: key.clientId, keyId: key.id, fingerprint: key.fingerprint, expiresAt, daysLeft },
    ctx.config.sink
      ? 'keyward: key near expiry; its rotation is waiting to be retried'
      : 'keyward: key near expiry and no sink to deliver a new one',
  );
  ctx.keyward.events.emit('key.expiring', {
    at: now,
    clientId: key.clientId,
    keyId: key.id,
    fingerprint: key.fingerprint,
    expiresAt,
    daysLeft,
  });
}
