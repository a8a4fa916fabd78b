import { type Duration, parseDuration, timeAfter } from './duration.js';
import { ErrorCodes } from './error-codes.js';
import { isKeywardError, KeywardError } from './errors.js';
import { checkRotationTimes } from './lifecycle/rotation-times.js';
import { type OpsContext, propagate } from './ops-context.js';
import { announceRotation, planRotation } from './rotation-plan.js';
import { type GraceFrom, type KeyRecord, OPEN_ROTATION_STATES, type RotationRecord, type RotationState } from './types.js';
import { checkClientId, checkText } from './validate.js';

export interface RotateOptions {
  /** Which active key to rotate. Required only when the client has several. */
  keyId?: string;
  /**
   * How long the old key keeps working. Default: the `grace` option (48h). It must end
   * before the new key expires, else the rotation is refused (`KEYWARD_INVALID_ARGUMENT`).
   */
  grace?: Duration;
  /** Lifetime of the new key. Default: the `keyLifetime` option. */
  ttl?: Duration | null;
  /**
   * What starts the old key's grace. `'rotation'` (the default here and in the CLI): now.
   * `'first-use'`: the new key's first successful verification in any process, so a
   * consumer that picks its new key up late is not cut off; bounded by `maxWait`.
   */
  graceFrom?: GraceFrom;
  /**
   * With `graceFrom: 'first-use'`: the longest the old key waits for the new key's first
   * use, counted from now (the old key's own expiry bounds it too). Default: the
   * `maxWait` option (`7d`).
   */
  maxWait?: Duration;
  reason?: string;
  actor?: string;
  /** A retried request with the same token gets the same rotation back (without the key, which is shown once). */
  idempotencyKey?: string;
}

export interface RotationResult {
  /** The new plaintext key; `undefined` when this is a replay of an earlier request. */
  readonly key: string | undefined;
  readonly replayed: boolean;
  readonly rotationId: string;
  readonly clientId: string;
  readonly state: RotationState;
  readonly newKeyId: string;
  readonly fingerprint: string;
  readonly oldKeyId: string;
  readonly oldFingerprint: string;
  /** When the old key stops working (its `Sunset`). */
  readonly graceUntil: number;
  /** When the rotation started: the old key is deprecated from then on (its `Deprecation`). */
  readonly startedAt: number;
  readonly expiresAt: number | null;
}

/**
 * The old key's window: a fixed grace from now, or (`graceFrom: 'first-use'`) up to
 * `maxWait` from now, cut to `graceMs` after the new key's first use. Validated
 * before anything is read or written.
 */
export function graceWindow(
  ctx: OpsContext,
  options: { graceFrom?: unknown; maxWait?: Duration },
  graceMs: number,
): { latestMs: number; firstUse?: { graceMs: number } } {
  const graceFrom = options.graceFrom ?? 'rotation';
  if (graceFrom !== 'rotation' && graceFrom !== 'first-use') {
    throw new KeywardError(ErrorCodes.INVALID_ARGUMENT, `graceFrom must be "rotation" or "first-use"; got ${JSON.stringify(graceFrom)}`, {
      argument: 'graceFrom',
    });
  }
  if (graceFrom === 'rotation') return { latestMs: graceMs };
  const maxWaitMs = options.maxWait === undefined ? ctx.config.maxWaitMs : parseDuration(options.maxWait, 'maxWait');
  if (maxWaitMs < graceMs) {
    throw new KeywardError(
      ErrorCodes.INVALID_ARGUMENT,
      `maxWait (${maxWaitMs} ms) must be at least the grace (${graceMs} ms): the old key waits for the new key's first use, then the grace`,
      { argument: 'maxWait' },
    );
  }
  return { latestMs: maxWaitMs, firstUse: { graceMs } };
}

function notFound(message: string, details: Record<string, unknown>): KeywardError {
  return new KeywardError(ErrorCodes.NOT_FOUND, message, details);
}

export async function replay(ctx: OpsContext, rotation: RotationRecord): Promise<RotationResult> {
  const [oldKey, newKey] = await Promise.all([
    ctx.config.store.findKeyById(rotation.oldKeyId),
    ctx.config.store.findKeyById(rotation.newKeyId),
  ]);
  return {
    key: undefined,
    replayed: true,
    rotationId: rotation.id,
    clientId: rotation.clientId,
    state: rotation.state,
    newKeyId: rotation.newKeyId,
    fingerprint: newKey?.fingerprint ?? '',
    oldKeyId: rotation.oldKeyId,
    oldFingerprint: oldKey?.fingerprint ?? '',
    graceUntil: rotation.graceUntil,
    startedAt: rotation.createdAt,
    expiresAt: newKey?.expiresAt ?? null,
  };
}

export async function inProgress(ctx: OpsContext, clientId: string): Promise<KeywardError | undefined> {
  const [open] = await ctx.config.store.listRotations({ clientId, state: OPEN_ROTATION_STATES, limit: 1 });
  if (!open) return undefined;
  return new KeywardError(ErrorCodes.ROTATION_IN_PROGRESS, `client ${clientId} already has rotation ${open.id} in progress`, {
    clientId,
    rotationId: open.id,
    graceUntil: open.graceUntil,
  });
}

/**
 * After losing a race with a concurrent rotation: return its outcome when it was
 * the same request (same idempotency token), else say which rotation won, else
 * rethrow the original error.
 */
async function lostRace(ctx: OpsContext, clientId: string, token: string | null, error: unknown): Promise<RotationResult> {
  const earlier = token === null ? null : await ctx.config.store.findRotationByIdempotencyKey(clientId, token);
  if (earlier) return replay(ctx, earlier);
  throw (await inProgress(ctx, clientId)) ?? error;
}

async function keyToRotate(ctx: OpsContext, clientId: string, keyId: string | undefined): Promise<KeyRecord> {
  const { store } = ctx.config;
  if (keyId !== undefined) {
    const key = await store.findKeyById(keyId);
    if (!key || key.clientId !== clientId) throw notFound(`client ${clientId} has no key ${keyId}`, { clientId, keyId });
    if (key.status !== 'active' || key.graceUntil !== null) {
      throw new KeywardError(
        ErrorCodes.ILLEGAL_TRANSITION,
        `key ${key.fingerprint} is ${key.graceUntil !== null ? 'already being rotated' : key.status}; only an active key can be rotated`,
        { fingerprint: key.fingerprint, status: key.status },
      );
    }
    return key;
  }
  const candidates = (await store.listKeys({ clientId, status: ['active'] })).filter((k) => k.graceUntil === null);
  if (candidates.length === 0) throw notFound(`client ${clientId} has no active key to rotate`, { clientId });
  if (candidates.length > 1) {
    throw new KeywardError(
      ErrorCodes.AMBIGUOUS_KEY,
      `client ${clientId} has ${candidates.length} active keys; say which one to rotate (keyId)`,
      {
        clientId,
        fingerprints: candidates.map((k) => k.fingerprint),
      },
    );
  }
  return candidates[0] as KeyRecord;
}

/**
 * Starts a rotation: a new key is issued as `pending` and accepted at once; the old
 * key stays active until `graceUntil`. At most one rotation per client is open: a
 * second request gets the first one back (same idempotency token) or a
 * `KEYWARD_ROTATION_IN_PROGRESS` error, never a second pending key (the store's
 * uniqueness rule backs this up across processes).
 */
export async function rotateKey(
  ctx: OpsContext,
  clientIdInput: string,
  options: RotateOptions = {},
  initialState: RotationState = 'delivered',
): Promise<RotationResult> {
  const clientId = checkClientId(clientIdInput);
  const reason = checkText(options.reason, 'reason');
  const actor = checkText(options.actor, 'actor');
  const token = checkText(options.idempotencyKey, 'idempotencyKey');
  const graceMs = options.grace === undefined ? ctx.config.graceMs : parseDuration(options.grace, 'grace');
  const window = graceWindow(ctx, options, graceMs);
  const { store, clock } = ctx.config;
  // Checked before anything is read or written: a bad grace or ttl never leaves a half-done rotation.
  checkRotationTimes(ctx, clock.now(), window.latestMs, options.ttl);

  if (token !== null) {
    const earlier = await store.findRotationByIdempotencyKey(clientId, token);
    if (earlier) return replay(ctx, earlier);
  }
  const busy = await inProgress(ctx, clientId);
  if (busy) throw busy;
  let oldKey: KeyRecord;
  try {
    oldKey = await keyToRotate(ctx, clientId, options.keyId);
  } catch (error) {
    // A concurrent rotation may have committed between the check above and this
    // read (the only active key is now in grace): report that rotation, not "no key".
    if (!isKeywardError(error, ErrorCodes.NOT_FOUND) && !isKeywardError(error, ErrorCodes.ILLEGAL_TRANSITION)) throw error;
    return lostRace(ctx, clientId, token, error);
  }

  const now = clock.now();
  const plan = planRotation(ctx, oldKey, {
    now,
    graceUntil: timeAfter(now, window.latestMs, window.firstUse === undefined ? 'grace' : 'maxWait'),
    firstUse: window.firstUse,
    state: initialState,
    reason,
    actor,
    idempotencyKey: token,
    ttl: options.ttl,
  });
  try {
    await store.commit({
      at: now,
      insertKeys: [plan.pending],
      updateKeys: [plan.oldUpdate],
      insertRotations: [plan.rotation],
      audit: [plan.audit],
    });
  } catch (error) {
    if (!isKeywardError(error, ErrorCodes.CONFLICT)) throw error;
    return lostRace(ctx, clientId, token, error);
  }
  await propagate(ctx, plan.changed, [], [plan.rotation]);
  const { result } = plan;
  ctx.config.logger.info(
    {
      event: 'key.rotated',
      clientId,
      rotationId: result.rotationId,
      fingerprint: result.fingerprint,
      oldFingerprint: result.oldFingerprint,
      graceUntil: result.graceUntil,
      actor,
    },
    'keyward: rotation started',
  );
  announceRotation(ctx, result, now, actor, reason);
  return result;
}

/** Loads an open rotation with both of its keys, or throws naming what is wrong. */
export async function openRotation(
  ctx: OpsContext,
  rotationId: string,
): Promise<{ rotation: RotationRecord; oldKey: KeyRecord | null; newKey: KeyRecord }> {
  const { store } = ctx.config;
  const rotation = await store.findRotation(rotationId);
  if (!rotation) throw notFound(`no rotation ${rotationId}`, { rotationId });
  if (!OPEN_ROTATION_STATES.includes(rotation.state)) {
    throw new KeywardError(ErrorCodes.ILLEGAL_TRANSITION, `rotation ${rotationId} is already ${rotation.state}`, {
      rotationId,
      state: rotation.state,
    });
  }
  const [oldKey, newKey] = await Promise.all([store.findKeyById(rotation.oldKeyId), store.findKeyById(rotation.newKeyId)]);
  if (!newKey) throw notFound(`rotation ${rotationId} has lost its new key`, { rotationId });
  return { rotation, oldKey, newKey };
}
