import { ErrorCodes } from '../error-codes.js';
import { KeywardError } from '../errors.js';
import { auditFor, keyUpdate, type OpsContext, patched, propagate } from '../ops-context.js';
import type { KeyPatch, KeyRecord } from '../types.js';
import { checkText } from '../validate.js';

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
