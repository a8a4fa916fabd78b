import { LRUCache } from 'lru-cache';
import { type Duration, parseDuration } from '../duration.js';
import { invalidOption } from '../errors.js';
import type { Keyward } from '../keyward.js';
import { errorFields } from '../logger.js';
import type { Alert, AlertKind, AlertSeverity, AlertSink } from './alert-sinks.js';
import { RateLimiter } from './rate-limiter.js';
import type { Scheduler } from './scheduler.js';

export interface AlertingOptions {
  /** Where alerts go (e.g. `loggerAlertSink(pino)`, `webhookAlertSink({...})`). Required, at least one. */
  sinks: readonly AlertSink[];
  /**
   * Repeated alerts of one kind for one key (or rotation, or client) are sent at most
   * once per `window`; the next one carries the count held back. `false` sends all.
   * Default `{ window: '5m' }`.
   */
  rateLimit?: false | { window?: Duration };
  /**
   * Kinds to alert on. Default: `rotation.failed`, `delivery.failed`,
   * `key.rejected.revoked`, `key.rejected.inactive`, `key.orphaned`, `key.expiring`,
   * `rotation.switched` and `key.used_after_switch` (once per rotation).
   */
  kinds?: readonly AlertKind[];
  /** Alert on failed deliveries too (`delivery.failed`, from the scheduler). */
  scheduler?: Scheduler;
}

export interface AlertingHandle {
  /** Unsubscribes and waits for alerts being sent. */
  close(): Promise<void>;
}

export const DEFAULT_ALERT_KINDS: readonly AlertKind[] = [
  'rotation.failed',
  'delivery.failed',
  'key.rejected.revoked',
  'key.rejected.inactive',
  'key.orphaned',
  'key.expiring',
  'rotation.switched',
  'key.used_after_switch',
  'key.leaked',
];

const SEVERITY: Record<AlertKind, AlertSeverity> = {
  'rotation.failed': 'critical',
  'delivery.failed': 'critical',
  'key.rejected.revoked': 'critical',
  'key.rejected.inactive': 'warning',
  'key.rejected.expired': 'warning',
  'key.orphaned': 'critical',
  'key.expiring': 'warning',
  'key.used_in_grace': 'info',
  'key.revoked': 'info',
  'rotation.switched': 'info',
  'key.leaked': 'critical',
  'key.used_after_switch': 'warning',
  'audit.anchor': 'info',
};

type Draft = Omit<Alert, 'kind' | 'severity' | 'suppressed' | 'details'> & { details?: Record<string, unknown> };

/**
 * Turns keyward (and scheduler) events into alerts for the configured sinks, with a
 * per-key rate limit so a client hammering with a revoked key pages once, not
 * thousands of times. A failing sink is logged; it never affects a request.
 */
export function createAlerting(keyward: Keyward, options: AlertingOptions): AlertingHandle {
  if (typeof options !== 'object' || options === null) throw invalidOption('createAlerting.options', options, 'must be an object');
  const { sinks } = options;
  if (!Array.isArray(sinks) || sinks.length === 0 || !sinks.every((s) => s && typeof s.send === 'function' && typeof s.name === 'string')) {
    throw invalidOption('createAlerting.sinks', sinks, 'must be a non-empty array of AlertSink ({ name, send() })');
  }
  const kinds = new Set(options.kinds ?? DEFAULT_ALERT_KINDS);
  for (const kind of kinds)
    if (!(kind in SEVERITY)) throw invalidOption('createAlerting.kinds', kind, `must be one of ${Object.keys(SEVERITY).join(', ')}`);
  const limiter =
    options.rateLimit === false
      ? undefined
      : new RateLimiter(parseDuration(options.rateLimit?.window ?? '5m', 'createAlerting.rateLimit.window'));
  const { logger } = keyward.config;
  const inFlight = new Set<Promise<void>>();
  const switchAlerted = new LRUCache<string, true>({ max: 100_000 });

  const raise = (kind: AlertKind, draft: Draft) => {
    if (!kinds.has(kind)) return;
    let suppressed = 0;
    if (limiter) {
      const decision = limiter.hit(`${kind}:${draft.keyId ?? draft.rotationId ?? draft.clientId ?? 'global'}`, draft.at);
      if (!decision.allow) return;
      suppressed = decision.suppressed;
    }
    const alert: Alert = { ...draft, kind, severity: SEVERITY[kind], suppressed, details: draft.details ?? {} };
    for (const sink of sinks) {
      const sending: Promise<void> = Promise.resolve()
        .then(() => sink.send(alert))
        .catch((error: unknown) => logger.error({ sink: sink.name, kind, ...errorFields(error) }, 'keyward: alert sink failed'))
        .finally(() => inFlight.delete(sending));
      inFlight.add(sending);
    }
  };

  const facts = (e: {
    at: number;
    clientId: string | null;
    keyId?: string | null;
    fingerprint?: string | null;
    rotationId?: string | null;
  }) => ({
    at: e.at,
    clientId: e.clientId,
    keyId: e.keyId ?? null,
    fingerprint: e.fingerprint ?? null,
    rotationId: e.rotationId ?? null,
  });
  const on = keyward.events.on.bind(keyward.events);
  const offs = [
    on('rotation.failed', (e) =>
      raise('rotation.failed', { ...facts(e), summary: `rotation of client ${e.clientId} failed`, details: { error: e.error } }),
    ),
    on('key.rejected', (e) => {
      if (e.reason === 'unknown') return;
      const what =
        e.reason === 'revoked'
          ? 'a revoked key was used'
          : e.reason === 'inactive'
            ? 'an old (rotated-out) key was used'
            : 'an expired key was used';
      raise(`key.rejected.${e.reason}`, { ...facts(e), summary: `${what} by client ${e.clientId}`, details: { ...e.context } });
    }),
    on('key.orphaned', (e) =>
      raise('key.orphaned', { ...facts(e), summary: `${e.problem} for client ${e.clientId}`, details: { problem: e.problem } }),
    ),
    on('key.expiring', (e) =>
      raise('key.expiring', {
        ...facts(e),
        summary: `key ${e.fingerprint} of client ${e.clientId} expires in ${e.daysLeft} days`,
        details: { daysLeft: e.daysLeft, expiresAt: e.expiresAt },
      }),
    ),
    on('key.used_in_grace', (e) =>
      raise('key.used_in_grace', {
        ...facts(e),
        summary: `client ${e.clientId} still uses its old key`,
        details: { graceUntil: e.graceUntil, ...e.context },
      }),
    ),
    on('rotation.switched', (e) =>
      raise('rotation.switched', {
        ...facts(e),
        summary: `client ${e.clientId} switched to its new key ${e.fingerprint}; the old key ${e.oldFingerprint} works until ${new Date(e.graceUntil).toISOString()}`,
        details: { firstUsedAt: e.firstUsedAt, graceUntil: e.graceUntil, graceFrom: e.graceFrom, oldFingerprint: e.oldFingerprint },
      }),
    ),
    on('key.leaked', (e) =>
      raise('key.leaked', {
        ...facts(e),
        summary: `key ${e.fingerprint} of client ${e.clientId} was reported leaked at ${e.source}: ${e.outcome.replace('_', ' ')}`,
        details: { source: e.source, policy: e.policy, outcome: e.outcome },
      }),
    ),
    on('key.used_after_switch', (e) => {
      // Once per rotation: a replica that did not switch keeps using the old key until it dies.
      if (switchAlerted.has(e.rotationId)) return;
      switchAlerted.set(e.rotationId, true);
      raise('key.used_after_switch', {
        ...facts(e),
        summary: `client ${e.clientId} still uses its old key ${e.fingerprint} after switching to the new one: some replica did not switch`,
        details: { firstUsedAt: e.firstUsedAt, graceUntil: e.graceUntil, ...e.context },
      });
    }),
    on('key.revoked', (e) =>
      raise('key.revoked', { ...facts(e), summary: `key ${e.fingerprint} of client ${e.clientId} revoked`, details: { reason: e.reason } }),
    ),
  ];
  if (options.scheduler) {
    offs.push(
      options.scheduler.on('deliveryFailed', (e) =>
        raise('delivery.failed', {
          ...facts(e),
          summary: `delivery of a new key for client ${e.clientId} via ${e.sink} failed`,
          details: { error: e.error, sink: e.sink },
        }),
      ),
    );
  }
  return {
    async close() {
      for (const off of offs.splice(0)) off();
      await Promise.all([...inFlight]);
    },
  };
}
