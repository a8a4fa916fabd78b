import { type Keyward, ManualClock } from '@keyward/core';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const T0 = Date.UTC(2026, 0, 1);

/** A clock for a trail: starts at `T0`, moved by the trail itself. */
export function trailClock(): ManualClock {
  return new ManualClock(T0);
}

/**
 * A real audit trail of 16 rows through the public API: four keys issued, a manual
 * rotation, a delivered rotation, a cancelled one, two finalizes, a revocation and
 * a purge four keys deep. Every row type a deployment writes, with actors, reasons
 * and data, so a tampered field is a field that was really there.
 */
export async function buildTrail(keyward: Keyward, clock: ManualClock): Promise<void> {
  await keyward.issue('acme', { actor: 'ops@acme', reason: 'onboarding', scopes: ['orders:read'], metadata: { team: 'billing' } });
  await keyward.issue('globex', { actor: 'ops@acme' });
  await keyward.issue('initech', { actor: 'ops@acme', scopes: ['reports:read', 'reports:write'] });
  const doomed = await keyward.issue('umbrella', { actor: 'ops@acme' });
  clock.advance(HOUR);
  const manual = await keyward.rotate('acme', { actor: 'ops@acme', reason: 'quarterly rotation' });
  const delivered = await keyward.startRotation('globex', { actor: 'keyward-scheduler', reason: 'scheduled: key near expiry' });
  await keyward.markDelivered(delivered.rotationId, { actor: 'keyward-scheduler', sink: 'file' });
  const cancelled = await keyward.startRotation('initech', { actor: 'ops@acme' });
  await keyward.abort(cancelled.rotationId, { actor: 'ops@acme', reason: 'wrong client' });
  clock.advance(49 * HOUR);
  await keyward.finalize(manual.rotationId, { actor: 'ops@acme' });
  await keyward.finalize(delivered.rotationId, { actor: 'keyward-scheduler' });
  await keyward.revoke(doomed.id, { reason: 'leaked in a public repository', actor: 'security@acme' });
  clock.advance(31 * DAY);
  await keyward.purge({ actor: 'keyward-scheduler' });
}

/** Rows `buildTrail` writes. */
export const TRAIL_ROWS = 16;
