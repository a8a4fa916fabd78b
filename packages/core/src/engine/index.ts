export {
  type Alert,
  type AlertKind,
  type AlertSeverity,
  type AlertSink,
  loggerAlertSink,
  type WebhookAlertSinkOptions,
  webhookAlertSink,
} from './alert-sinks.js';
export { type AlertingHandle, type AlertingOptions, createAlerting, DEFAULT_ALERT_KINDS } from './alerting.js';
export { type AuditLoggerOptions, type AuditLogHandle, auditLogger } from './audit-logger.js';
export { FileSink, type FileSinkOptions, keyFileName } from './file-sink.js';
export { fromRedisLock, type RedisLockLike, type SchedulerLock, type SchedulerLockHandle } from './lock.js';
export { type RateDecision, RateLimiter } from './rate-limiter.js';
export { Scheduler } from './scheduler.js';
export type { PassReport, PassSummary, SchedulerEventMap, SchedulerEventName } from './scheduler-events.js';
export type { SchedulerConfig, SchedulerOptions } from './scheduler-options.js';
export {
  backoffDelay,
  type DeliveryCheck,
  type DeliveryStatus,
  type KeyDelivery,
  type SecretSink,
  type Sleep,
  safeErrorMessage,
} from './secret-sink.js';
export type { OrphanProblem } from './step-orphans.js';
export { type KeyUse, UsageAuditWriter } from './usage-audit.js';
export { isRetryableStatus, type SignedWebhookOptions } from './webhook-post.js';
export { SIGNATURE_HEADER, signatureHeader, signatureOf, type VerifyWebhookOptions, verifyWebhookSignature } from './webhook-signature.js';
export { WebhookSink, type WebhookSinkOptions } from './webhook-sink.js';
