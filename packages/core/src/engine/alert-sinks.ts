import { invalidOption } from '../errors.js';
import type { Logger } from '../logger.js';
import { postSignedJson, resolveWebhookOptions, type SignedWebhookConfig, type SignedWebhookOptions } from './webhook-post.js';

export type AlertSeverity = 'info' | 'warning' | 'critical';

/** What `createAlerting` can alert on. */
export type AlertKind =
  | 'rotation.failed'
  | 'delivery.failed'
  | 'key.rejected.revoked'
  | 'key.rejected.inactive'
  | 'key.rejected.expired'
  | 'key.orphaned'
  | 'key.expiring'
  | 'key.used_in_grace'
  | 'key.revoked'
  | 'rotation.switched'
  | 'key.leaked'
  | 'key.used_after_switch'
  /** Sent by the scheduler's audit anchors (not from events, not in `kinds`). */
  | 'audit.anchor';

/** One alert, as every sink receives it. Never holds a key, only fingerprints. */
export interface Alert {
  readonly kind: AlertKind;
  readonly severity: AlertSeverity;
  /** When it happened (keyward clock, ms). */
  readonly at: number;
  readonly clientId: string | null;
  readonly keyId: string | null;
  readonly fingerprint: string | null;
  readonly rotationId: string | null;
  /** One human sentence. */
  readonly summary: string;
  /** How many alerts of this kind for this key were held back by the rate limit since the last one sent. */
  readonly suppressed: number;
  /** Further facts (days left, orphan problem, error text, request method/path/ip). */
  readonly details: Readonly<Record<string, unknown>>;
}

/** Where alerts go: a pager, a chat webhook, a log. `send` may reject; alerting logs it and goes on. */
export interface AlertSink {
  readonly name: string;
  send(alert: Alert): Promise<void>;
}

/** Alerts as pino lines: `critical` at error level, `warning` at warn, `info` at info. */
export function loggerAlertSink(logger: Logger): AlertSink {
  if (typeof logger !== 'object' || logger === null || typeof logger.warn !== 'function') {
    throw invalidOption('loggerAlertSink.logger', logger, 'must be a pino-style logger');
  }
  return {
    name: 'logger',
    async send(alert) {
      const level = alert.severity === 'critical' ? 'error' : alert.severity === 'warning' ? 'warn' : 'info';
      logger[level]({ alert: true, ...alert }, `keyward alert: ${alert.summary}`);
    },
  };
}

export interface WebhookAlertSinkOptions extends SignedWebhookOptions {
  /** Name in logs. Default `webhook`. */
  name?: string;
}

/**
 * Alerts POSTed as signed JSON (`{"type":"keyward.alert", ...alert}`, same
 * `X-Keyward-Signature` scheme and retries as the webhook secret sink; check it
 * with `verifyWebhookSignature`). Fewer tries by default (3): an alert is not a key.
 */
export function webhookAlertSink(options: WebhookAlertSinkOptions): AlertSink {
  const config: SignedWebhookConfig = resolveWebhookOptions({ attempts: 3, ...options }, 'webhookAlertSink');
  const name = options.name ?? 'webhook';
  let sequence = 0;
  return {
    name,
    async send(alert) {
      const body = JSON.stringify({ type: 'keyward.alert', ...alert, at: new Date(alert.at).toISOString() });
      const id = `${alert.kind}:${alert.keyId ?? alert.rotationId ?? alert.clientId ?? 'none'}:${alert.at}:${sequence++}`;
      await postSignedJson(config, body, id, `alert webhook ${name}`);
    },
  };
}
