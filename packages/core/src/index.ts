export { Keyward, createKeyward } from './keyward.js';
export type { KeywardOptions, KeywardConfig } from './options.js';
export { resolveOptions } from './options.js';
export type { IssueOptions, IssuedKey } from './issue-key.js';
export type { RotateOptions, RotationResult } from './rotation.js';
export type { FinalizeResult } from './rotation-end.js';
export type { RevokeOptions, PurgeResult } from './revoke.js';
export type { VerifyResult, ValidKey, InvalidKey, InvalidReason } from './verify-result.js';
export { KeywardEmitter } from './events.js';
export type { KeywardEvents, KeywardEventName, KeywardListener, VerifyContext } from './events.js';
export { KeywardError, isKeywardError } from './errors.js';
export { ErrorCodes, type ErrorCode } from './error-codes.js';
export { parseDuration, formatDuration, type Duration } from './duration.js';
export { type Clock, systemClock, ManualClock } from './clock.js';
export { type Logger, silentLogger } from './logger.js';
export {
  generateKey,
  parseKey,
  checkKeyFormat,
  isValidPrefix,
  keyLength,
  type ParsedKey,
  type KeyFormatProblem,
} from './key-format.js';
export { hashKey, createKeyHasher, fingerprintOf, type KeyHasher } from './key-hash.js';
export { crc32Ascii } from './crc32.js';
export { canTransition, assertTransition, refusalAt, type RefusalReason } from './lifecycle.js';
export type { KeyStore, WriteBatch, VersionedUpdate, KeyQuery, RotationQuery, AuditQuery, KeyChange } from './key-store.js';
export { MemoryStore } from './memory-store.js';
export type { SharedKeyCache, InvalidationBus, InvalidationHandlers } from './key-cache.js';
export { chainAuditEntry, auditRowHash, canonicalJson, verifyAuditRows, type AuditChainReport } from './audit-chain.js';
export {
  KEY_STATUSES,
  OPEN_ROTATION_STATES,
  toLiveKey,
  type KeyStatus,
  type KeyRecord,
  type KeyPatch,
  type RotationRecord,
  type RotationPatch,
  type RotationState,
  type AuditEntry,
  type AuditRecord,
  type LiveKey,
} from './types.js';
