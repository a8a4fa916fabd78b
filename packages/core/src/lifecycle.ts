import { ErrorCodes } from './error-codes.js';
import { KeywardError } from './errors.js';
import type { KeyStatus, LiveKey } from './types.js';

/**
 * The allowed status transitions, in one place (DESIGN.md, "Key lifecycle"):
 * finalize moves pending → active and active → inactive; revoke moves any live or
 * retired key to revoked. Revoked is terminal; nothing returns to pending.
 */
const ALLOWED: Readonly<Record<KeyStatus, readonly KeyStatus[]>> = {
  pending: ['active', 'revoked'],
  active: ['inactive', 'revoked'],
  inactive: ['revoked'],
  revoked: [],
};

export function canTransition(from: KeyStatus, to: KeyStatus): boolean {
  return ALLOWED[from].includes(to);
}

/** Throws `KEYWARD_ILLEGAL_TRANSITION`, naming both states, unless `from → to` is allowed. */
export function assertTransition(from: KeyStatus, to: KeyStatus, keyFingerprint?: string): void {
  if (!canTransition(from, to)) {
    const which = keyFingerprint ? ` for key ${keyFingerprint}` : '';
    throw new KeywardError(ErrorCodes.ILLEGAL_TRANSITION, `illegal transition${which}: ${from} → ${to}`, {
      from,
      to,
      fingerprint: keyFingerprint,
    });
  }
}

/** Why a known key is refused right now. */
export type RefusalReason = 'expired' | 'inactive' | 'revoked';

/**
 * Decides a key against the clock. Time rules are enforced here, at verification,
 * not only by the scheduler: an old key whose grace ended is refused as `inactive`
 * even if finalize has not run, and a pending key is accepted from its first second.
 * Returns `undefined` when the key is accepted now.
 */
export function refusalAt(key: LiveKey, now: number): RefusalReason | undefined {
  switch (key.status) {
    case 'revoked':
      return 'revoked';
    case 'inactive':
      return 'inactive';
    default:
      if (key.expiresAt !== null && now >= key.expiresAt) return 'expired';
      if (key.graceUntil !== null && now >= key.graceUntil) return 'inactive';
      return undefined;
  }
}
