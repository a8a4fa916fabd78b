import { type Duration, parseDuration } from '../duration.js';
import { invalidOption } from '../errors.js';
import type { KeywardEventName, KeywardEvents } from '../events.js';
import type { Keyward } from '../keyward.js';
import type { Logger } from '../logger.js';
import { RateLimiter } from './rate-limiter.js';
import { UsageAuditWriter } from './usage-audit.js';

export interface AuditLoggerOptions {
  /** Key-use lines (`key.used_in_grace`, `key.rejected`) are logged at most once per key per this window, with a count. Default `1m`. */
  usageLogWindow?: Duration;
  /**
   * Write old-key and revoked-key uses to the durable audit table too, batched off the
   * request path: at most one row per key per `window` (default `1h`), committed every
   * `flushInterval` (default `30s`). `false` keeps them in the pino log only. Default: on.
   */
  durableUsage?: false | { window?: Duration; flushInterval?: Duration };
}

export interface AuditLogHandle {
  /** Unsubscribes and writes buffered key-use rows. */
  close(): Promise<void>;
}

interface Line {
  readonly at: number;
  readonly clientId?: string | null;
  readonly keyId?: string | null;
  readonly fingerprint?: string | null;
  readonly rotationId?: string | null;
  readonly reason?: string | null;
  readonly actor?: string | null;
}

/** Fields every audit line has, in one shape: never a key, only fingerprints. */
function line(event: string, e: Line, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    audit: true,
    event,
    timestamp: new Date(e.at).toISOString(),
    clientId: e.clientId ?? null,
    keyId: e.keyId ?? null,
    fingerprint: e.fingerprint ?? null,
    rotationId: e.rotationId ?? null,
    reason: e.reason ?? null,
    actor: e.actor ?? null,
    ...extra,
  };
}

/**
 * Writes every lifecycle event as one pino JSON line (`audit: true`, `event`,
 * `timestamp`, fingerprint, reason, actor, rotation id; never a key). The durable
 * hash-chained rows for lifecycle operations are written by the core itself, in
 * the same transaction as the change; key uses (old key during/after grace,
 * revoked key) are batched into the durable table here (see `durableUsage`).
 */
export function auditLogger(keyward: Keyward, logger: Logger, options: AuditLoggerOptions = {}): AuditLogHandle {
  if (typeof logger !== 'object' || logger === null || typeof logger.info !== 'function') {
    throw invalidOption('auditLogger.logger', logger, 'must be a pino-style logger');
  }
  const usageLog = new RateLimiter(parseDuration(options.usageLogWindow ?? '1m', 'auditLogger.usageLogWindow'));
  const durable =
    options.durableUsage === false
      ? undefined
      : new UsageAuditWriter(
          keyward,
          parseDuration(options.durableUsage?.window ?? '1h', 'auditLogger.durableUsage.window'),
          parseDuration(options.durableUsage?.flushInterval ?? '30s', 'auditLogger.durableUsage.flushInterval'),
        );
  const offs: (() => void)[] = [];
  const on = <E extends KeywardEventName>(name: E, fn: (e: KeywardEvents[E]) => void) => offs.push(keyward.events.on(name, fn));

  on('key.issued', (e) => logger.info(line('key.issued', e, { expiresAt: e.expiresAt, scopes: e.scopes }), 'keyward audit: key issued'));
  on('key.rotated', (e) =>
    logger.info(
      line('key.rotated', e, { oldKeyId: e.oldKeyId, oldFingerprint: e.oldFingerprint, graceUntil: e.graceUntil }),
      'keyward audit: rotation started',
    ),
  );
  on('key.finalized', (e) =>
    logger.info(
      line('key.finalized', e, { retiredKeyId: e.retiredKeyId, retiredFingerprint: e.retiredFingerprint }),
      'keyward audit: rotation finalized',
    ),
  );
  on('key.revoked', (e) => logger.warn(line('key.revoked', e, { previousStatus: e.previousStatus }), 'keyward audit: key revoked'));
  on('key.purged', (e) => logger.info(line('key.purged', e, { status: e.status }), 'keyward audit: key purged'));
  on('rotation.failed', (e) => logger.error(line('rotation.failed', { ...e, reason: e.error }), 'keyward audit: rotation failed'));
  on('rotation.aborted', (e) => logger.warn(line('rotation.aborted', e), 'keyward audit: rotation aborted'));
  on('key.expiring', (e) =>
    logger.warn(line('key.expiring', e, { expiresAt: e.expiresAt, daysLeft: e.daysLeft }), 'keyward audit: key near expiry'),
  );
  on('key.orphaned', (e) => logger.warn(line('key.orphaned', { ...e, reason: e.problem }), 'keyward audit: orphan found'));
  on('key.used_in_grace', (e) => {
    durable?.record({
      type: 'key.used_in_grace',
      at: e.at,
      clientId: e.clientId,
      keyId: e.keyId,
      fingerprint: e.fingerprint,
      reason: 'in_grace',
      context: e.context,
    });
    const d = usageLog.hit(`grace:${e.keyId}`, e.at);
    if (d.allow)
      logger.info(
        line('key.used_in_grace', { ...e, reason: 'in_grace' }, { graceUntil: e.graceUntil, uses: 1 + d.suppressed, ...e.context }),
        'keyward audit: old key used during grace',
      );
  });
  on('key.rejected', (e) => {
    if ((e.reason !== 'inactive' && e.reason !== 'revoked') || e.keyId === null) return;
    durable?.record({
      type: 'key.rejected',
      at: e.at,
      clientId: e.clientId,
      keyId: e.keyId,
      fingerprint: e.fingerprint,
      reason: e.reason,
      context: e.context,
    });
    const d = usageLog.hit(`rejected:${e.reason}:${e.keyId}`, e.at);
    if (d.allow) {
      const message = e.reason === 'revoked' ? 'keyward audit: revoked key used' : 'keyward audit: old key used after its rotation';
      logger.warn(line('key.rejected', e, { uses: 1 + d.suppressed, ...e.context }), message);
    }
  });
  on('rotation.delivered', (e) => logger.info(line('rotation.delivered', e, { sink: e.sink }), 'keyward audit: new key delivered'));
  return {
    async close() {
      for (const off of offs.splice(0)) off();
      await durable?.close();
    },
  };
}
