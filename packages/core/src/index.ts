export * from './audit/index.js';
export {
  type AuditChainReport,
  auditRowHash,
  auditScanRow,
  auditScanRowHash,
  canonicalJson,
  chainAuditEntry,
  verifyAuditRows,
} from './audit-chain.js';
export { type Clock, ManualClock, systemClock } from './clock.js';
export {
  type AuditPageQuery,
  type ClientPage,
  type ClientQuery,
  type ClientSummary,
  type ConsoleQueries,
  HOUR_MS,
  hasConsoleQueries,
  hourOf,
  type RotationPageQuery,
  type UsageBucket,
  type UsageQuery,
} from './console/console-queries.js';
export { prefixUpperBound } from './console/prefix-range.js';
export { crc32Ascii } from './crc32.js';
export { type Duration, formatDuration, isValidTime, MAX_DURATION_MS, parseDuration, timeAfter } from './duration.js';
export * from './engine/index.js';
export { type ErrorCode, ErrorCodes } from './error-codes.js';
export { isKeywardError, KeywardError } from './errors.js';
export type { KeywardEventName, KeywardEvents, KeywardListener, VerifyContext } from './events.js';
export { KeywardEmitter } from './events.js';
export * from './http/index.js';
export type { IssuedKey, IssueOptions } from './issue-key.js';
export type { InvalidationBus, InvalidationHandlers, SharedKeyCache } from './key-cache.js';
export {
  checkKeyFormat,
  generateKey,
  isValidPrefix,
  type KeyFormatProblem,
  keyLength,
  type ParsedKey,
  parseKey,
} from './key-format.js';
export { createKeyHasher, fingerprintOf, hashKey, type KeyHasher } from './key-hash.js';
export {
  type AuditQuery,
  type AuditScanRow,
  type ChangeLogPage,
  type ChangeLogQuery,
  hasChangeLog,
  hasKeyHashScan,
  type KeyChange,
  type KeyChangeEntry,
  type KeyChangeLog,
  type KeyHashScan,
  type KeyQuery,
  type KeyStore,
  type RotationQuery,
  type VersionedUpdate,
  type WriteBatch,
} from './key-store.js';
export { createKeyward, Keyward } from './keyward.js';
export { DEFAULT_BITS_PER_KEY, HashFilter } from './known-keys/hash-filter.js';
export { KnownKeys, type KnownKeysConfig, type KnownKeysStatus } from './known-keys/known-keys.js';
export type { LookupBudgetStatus } from './known-keys/lookup-budget.js';
export type { LeakOutcome, LeakPolicy, LeakResult, ReportLeakOptions } from './leak/report-leak.js';
export { type EffectiveStatus, effectiveStatus, type KeyView, viewKeys } from './lifecycle/effective-status.js';
export type { ExtendGraceOptions } from './lifecycle/extend-grace.js';
export { type RotationProgress, type RotationView, rotationProgress, viewRotation } from './lifecycle/rotation-status.js';
export type { UnrevokeOptions } from './lifecycle/unrevoke.js';
export { assertTransition, canTransition, type RefusalReason, refusalAt } from './lifecycle.js';
export { type Logger, silentLogger } from './logger.js';
export { MemoryStore } from './memory-store.js';
export type { KeywardConfig, KeywardOptions } from './options.js';
export { resolveOptions } from './options.js';
export type { PurgeResult, RevokeOptions } from './revoke.js';
export type { RotateOptions, RotationResult } from './rotation.js';
export type { BatchItem } from './rotation-batch.js';
export type { FinalizeResult, MarkDeliveredOptions } from './rotation-end.js';
export {
  type AuditEntry,
  type AuditRecord,
  type GraceFrom,
  KEY_STATUSES,
  type KeyPatch,
  type KeyRecord,
  type KeyStatus,
  type LiveKey,
  OPEN_ROTATION_STATES,
  type RotationPatch,
  type RotationRecord,
  type RotationState,
  toLiveKey,
} from './types.js';
export type { AttemptGate } from './verify/attempt-gate.js';
export type { InvalidKey, InvalidReason, LimitedKey, ValidKey, VerifyResult } from './verify-result.js';
