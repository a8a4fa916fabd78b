import type { PassContext } from './pass-context.js';
import { itemFailed } from './pass-context.js';

const DAY = 86_400_000;

/**
 * Expiry notices (issue 21): `key.expiring` (with `notice`, e.g. `3d`) when an active
 * key not being rotated comes within each lead time of its expiry (`expiryNotices`,
 * default 14d, 3d, 1d), so its owner can act before anyone runs a job. Exactly once
 * per key and lead time, across schedulers and restarts: the store records each
 * notice (`claimNotice`) and only the scheduler that recorded it sends it. A key that
 * crosses several lead times at once (issued with a short life, or a scheduler that
 * was down) gets one notice, for the nearest; the others are recorded as passed.
 * Recorded before it is sent: a crash in between loses that notice rather than
 * sending it twice.
 */
export async function sendExpiryNotices(ctx: PassContext): Promise<void> {
  const { keyward, config } = ctx;
  const { store, clock, logger } = keyward.config;
  const leadTimes = [...config.expiryNotices].sort((a, b) => a.ms - b.ms);
  const longest = leadTimes.at(-1)?.ms;
  if (longest === undefined || typeof store.claimNotice !== 'function') return;
  const now = clock.now();
  const keys = await store.listKeys({ status: ['active'], expiresBefore: now + longest });
  for (const key of keys) {
    if (key.expiresAt === null || key.expiresAt <= now || key.graceUntil !== null) continue;
    const left = key.expiresAt - now;
    const crossed = leadTimes.filter((lead) => left <= lead.ms);
    try {
      let nearestClaimed = false;
      for (const [i, lead] of crossed.entries()) {
        const claimed = await store.claimNotice(key.id, `expiring:${lead.label}`, now);
        if (i === 0) nearestClaimed = claimed;
        if (!claimed) break; // the larger lead times were recorded when this one was
      }
      if (!nearestClaimed) continue;
      const notice = crossed[0]?.label as string;
      const daysLeft = Math.max(0, Math.floor(left / DAY));
      ctx.summary.expiring += 1;
      logger.warn(
        { event: 'key.expiring', clientId: key.clientId, keyId: key.id, fingerprint: key.fingerprint, expiresAt: key.expiresAt, notice },
        `keyward: key expires within ${notice}`,
      );
      keyward.events.emit('key.expiring', {
        at: now,
        clientId: key.clientId,
        keyId: key.id,
        fingerprint: key.fingerprint,
        expiresAt: key.expiresAt,
        daysLeft,
        notice,
      });
    } catch (error) {
      itemFailed(ctx, 'notices', { clientId: key.clientId, fingerprint: key.fingerprint }, error);
    }
  }
}
