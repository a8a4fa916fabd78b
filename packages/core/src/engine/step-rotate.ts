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
  await eachLimit(todo, config.concurrency, async (key) => {
    try {
      await rotateOne(ctx, key, now);
    } catch (error) {
      itemFailed(ctx, 'rotate', { clientId: key.clientId, fingerprint: key.fingerprint }, error);
    }
  });
}

async function rotateOne(ctx: PassContext, key: KeyRecord, now: number): Promise<void> {
  const { keyward, config } = ctx;
  const { sink } = config;
  if (sink === undefined || (await waitingForRetry(ctx, key, now))) {
    notifyExpiring(ctx, key, now);
    return;
  }
  let result: Awaited<ReturnType<typeof keyward.startRotation>>;
  try {
    result = await keyward.startRotation(key.clientId, {
      keyId: key.id,
      idempotencyKey: `scheduled:${key.id}:${key.expiresAt}:${key.version}`,
      actor: config.actor,
      reason: 'scheduled: key near expiry',
    });
  } catch (error) {
    if (lostRace(error)) return; // another process (or an operator) is rotating this client
    throw error;
  }
  // A replay means another pass started this very rotation: it delivers, not us.
  if (result.replayed || result.key === undefined) return;
  ctx.summary.rotated += 1;
  const { rotationId, clientId, fingerprint } = result;
  try {
    await sink.deliver({
      rotationId,
      clientId,
      keyId: result.newKeyId,
      key: result.key,
      fingerprint,
      graceUntil: result.graceUntil,
      expiresAt: result.expiresAt,
    });
  } catch (error) {
    const message = safeErrorMessage(error, result.key);
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
      if (!lostRace(abortError)) throw abortError;
    }
    return;
  }
  await keyward.markDelivered(rotationId, { sink: sink.name, actor: config.actor });
  ctx.summary.delivered += 1;
  ctx.events.emit('delivered', { at: keyward.config.clock.now(), rotationId, clientId, fingerprint, sink: sink.name });
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
