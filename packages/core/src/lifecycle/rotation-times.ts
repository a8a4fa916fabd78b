import { type Duration, formatDuration, timeAfter } from '../duration.js';
import { ErrorCodes } from '../error-codes.js';
import { KeywardError } from '../errors.js';
import { expiryFrom } from '../issue-key.js';
import type { OpsContext } from '../ops-context.js';
/**
 * A grace that outlives the new key would lock the client out: at the new key's
 * expiry both keys are refused (the old one is still being replaced, the new one
 * is expired). keyward refuses such a rotation rather than shortening the grace
 * behind the operator's back.
 */
export function graceEndsBeforeExpiry(graceMs: number, lifetimeMs: number | null): void {
  if (lifetimeMs === null || graceMs < lifetimeMs) return;
  throw new KeywardError(
    ErrorCodes.INVALID_ARGUMENT,
    `grace ${formatDuration(graceMs)} must end before the new key expires (it lives ${formatDuration(lifetimeMs)}): ` +
      'the client would be left with no valid key; use a shorter grace or a longer ttl',
    { argument: 'grace', graceMs, lifetimeMs },
  );
}

/** Every time a rotation would write, checked up front: the grace and the new key's expiry are valid dates, and the grace ends first. */
export function checkRotationTimes(ctx: OpsContext, now: number, graceMs: number, ttl: Duration | null | undefined): void {
  const graceUntil = timeAfter(now, graceMs, 'grace');
  const expiresAt = expiryFrom(ctx, now, ttl);
  graceEndsBeforeExpiry(graceUntil - now, expiresAt === null ? null : expiresAt - now);
}
