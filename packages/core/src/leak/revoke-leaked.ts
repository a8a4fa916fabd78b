import { ErrorCodes } from '../error-codes.js';
import { isKeywardError } from '../errors.js';
import type { VersionedUpdate } from '../key-store.js';
import { refusalAt } from '../lifecycle.js';
import { auditFor, keyUpdate, type OpsContext, patched, propagate } from '../ops-context.js';
import { announceRevoked, revokeKey } from '../revoke.js';
import { type AuditEntry, type KeyPatch, type KeyRecord, OPEN_ROTATION_STATES, type RotationRecord, toLiveKey } from '../types.js';

/** A live key of ours found in a leak report, and where it was found. */
export interface LeakedKey {
  readonly key: KeyRecord;
  readonly source: string;
}

/** What became of a leaked key handed to `revokeLeakedTogether`. */
export interface LeakedKeyFate {
  readonly outcome: 'revoked' | 'already_retired';
  /** True when the report's own audit row (`reportRow`) was committed with the revocation. */
  readonly reportAudited: boolean;
}

/** Attempts per key when it changed concurrently (compare-and-set miss) before the error is thrown. */
const ATTEMPTS_PER_KEY = 3;

/**
 * Revokes the live leaked keys of one report together: one store commit holding every
 * revocation, its `key.revoked` audit row and the report's own row for that key, then the
 * cache writes and bus publications for all of them at once. One transaction instead of
 * one per key is what makes a 100-key report stop working in well under a second.
 *
 * A key inside an open rotation is revoked on its own (`revokeKey` completes or cancels
 * the rotation). If the shared commit misses a compare-and-set (a key changed since it
 * was looked up), nothing of it was written, and each key is revoked on its own from a
 * fresh read, a few attempts each: a key retired meanwhile is `already_retired`, none is lost.
 */
export async function revokeLeakedTogether(
  ctx: OpsContext,
  leaked: readonly LeakedKey[],
  options: { actor: string; reportRow: (leak: LeakedKey) => AuditEntry },
): Promise<Map<string, LeakedKeyFate>> {
  const fates = new Map<string, LeakedKeyFate>();
  if (leaked.length === 0) return fates;
  const { store } = ctx.config;
  const rotations = await Promise.all(leaked.map(({ key }) => (key.rotationId === null ? null : store.findRotation(key.rotationId))));
  const together: { leak: LeakedKey; rotation: RotationRecord | null }[] = [];
  const alone: LeakedKey[] = [];
  leaked.forEach((leak, i) => {
    const rotation = rotations[i] ?? null;
    if (rotation !== null && OPEN_ROTATION_STATES.includes(rotation.state)) alone.push(leak);
    else together.push({ leak, rotation });
  });

  if (together.length > 0) {
    const committed = await commitTogether(ctx, together, options);
    if (committed) for (const { leak } of together) fates.set(leak.key.id, { outcome: 'revoked', reportAudited: true });
    else alone.push(...together.map((t) => t.leak));
  }
  for (const leak of alone) fates.set(leak.key.id, { outcome: await revokeAlone(ctx, leak, options.actor), reportAudited: false });
  return fates;
}

/** The shared commit; `false` (nothing written) when a key changed since it was read. */
async function commitTogether(
  ctx: OpsContext,
  together: readonly { leak: LeakedKey; rotation: RotationRecord | null }[],
  options: { actor: string; reportRow: (leak: LeakedKey) => AuditEntry },
): Promise<boolean> {
  const { store, clock } = ctx.config;
  const now = clock.now();
  const updateKeys: VersionedUpdate<KeyPatch>[] = [];
  const changed: KeyRecord[] = [];
  const audit: AuditEntry[] = [];
  for (const { leak, rotation } of together) {
    const { key } = leak;
    const reason = leakReason(leak.source);
    const patch: KeyPatch = { status: 'revoked', revokedAt: now, revokedReason: reason, statusChangedAt: now };
    updateKeys.push(keyUpdate(key, patch));
    changed.push(patched(key, patch, now));
    audit.push(
      auditFor('key.revoked', now, key, { rotation, actor: options.actor, reason, data: { previousStatus: key.status } }),
      options.reportRow(leak),
    );
  }
  try {
    await store.commit({ at: now, updateKeys, audit });
  } catch (error) {
    if (isKeywardError(error, ErrorCodes.CONFLICT)) return false;
    throw error;
  }
  // Other processes first (cache tombstones, then the bus); the log lines and events after.
  await propagate(ctx, changed);
  for (const { leak, rotation } of together) {
    announceRevoked(ctx, leak.key, { at: now, reason: leakReason(leak.source), actor: options.actor, rotationId: rotation?.id ?? null });
  }
  return true;
}

/** One key through `revokeKey`, read afresh each attempt; `already_retired` if someone retired (or purged) it first. */
async function revokeAlone(ctx: OpsContext, leak: LeakedKey, actor: string): Promise<'revoked' | 'already_retired'> {
  const { store, clock } = ctx.config;
  for (let attempt = 1; ; attempt++) {
    const fresh = await store.findKeyById(leak.key.id);
    if (fresh === null || refusalAt(toLiveKey(fresh), clock.now()) !== undefined) return 'already_retired';
    try {
      await revokeKey(ctx, fresh.id, { reason: leakReason(leak.source), actor });
      return 'revoked';
    } catch (error) {
      const raced = [ErrorCodes.CONFLICT, ErrorCodes.ILLEGAL_TRANSITION, ErrorCodes.NOT_FOUND].some((code) => isKeywardError(error, code));
      if (!raced || attempt >= ATTEMPTS_PER_KEY) throw error;
    }
  }
}

/** The revocation reason of a leaked key: it names where the key was found. */
export function leakReason(source: string): string {
  return `leaked: ${source}`;
}
