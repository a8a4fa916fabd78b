/** Stored status of a key. See DESIGN.md, "Key lifecycle". */
export type KeyStatus = 'pending' | 'active' | 'inactive' | 'revoked';

export const KEY_STATUSES: readonly KeyStatus[] = ['pending', 'active', 'inactive', 'revoked'];

/** All timestamps are milliseconds since the Unix epoch; `null` means "not set". */
export interface KeyRecord {
  /** Random id (UUID), stable for the key's life. */
  readonly id: string;
  readonly clientId: string;
  /** SHA-256 (or HMAC-SHA256) hex of the plaintext key. The plaintext is never stored. */
  readonly keyHash: string;
  /** First 8 hex chars of `keyHash`. */
  readonly fingerprint: string;
  /** The key's prefix, e.g. `sk_live` (not secret; helps operators tell keys apart). */
  readonly prefix: string;
  readonly status: KeyStatus;
  readonly scopes: readonly string[];
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly createdAt: number;
  /** Hard expiry; `null` for a key that never expires. */
  readonly expiresAt: number | null;
  /** End of the grace period while this (old) key is being rotated out. */
  readonly graceUntil: number | null;
  /** Rotation this key takes part in (as old or new key). */
  readonly rotationId: string | null;
  /** Id of the key this one replaces (set on the new key of a rotation). */
  readonly replaces: string | null;
  readonly revokedAt: number | null;
  readonly revokedReason: string | null;
  readonly lastUsedAt: number | null;
  /** When `status` last changed: the retention clock for purge. */
  readonly statusChangedAt: number;
  readonly updatedAt: number;
  /** Bumped by exactly 1 on every write; every update is a compare-and-set on it. */
  readonly version: number;
}

/** Fields an update may change. `version` and `updatedAt` are managed by the store. */
export type KeyPatch = Partial<
  Pick<
    KeyRecord,
    'status' | 'scopes' | 'metadata' | 'expiresAt' | 'graceUntil' | 'rotationId' | 'revokedAt' | 'revokedReason' | 'statusChangedAt'
  >
>;

export type RotationState = 'started' | 'delivered' | 'completed' | 'failed' | 'aborted';

/** States in which a rotation still holds its client's one pending key. */
export const OPEN_ROTATION_STATES: readonly RotationState[] = ['started', 'delivered'];

export interface RotationRecord {
  readonly id: string;
  readonly clientId: string;
  readonly oldKeyId: string;
  readonly newKeyId: string;
  readonly state: RotationState;
  readonly reason: string | null;
  readonly actor: string | null;
  /** Caller-supplied token: a retried request with the same token gets this rotation back. */
  readonly idempotencyKey: string | null;
  /**
   * When the old key stops being accepted and the rotation may be finalized. With
   * `graceFrom: 'first-use'`, the latest possible end (`maxWait` after the start) until
   * the new key is first used, then that use plus `graceMs`, whichever is earlier.
   */
  readonly graceUntil: number;
  /** What starts the old key's grace: the rotation itself, or the new key's first use. */
  readonly graceFrom: GraceFrom;
  /** The grace after the new key's first use (`graceFrom: 'first-use'`); `null` otherwise. */
  readonly graceMs: number | null;
  /** When the new key was first verified, in any process; `null` while nobody has used it. */
  readonly firstUsedAt: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly completedAt: number | null;
  readonly lastError: string | null;
  readonly version: number;
}

export type RotationPatch = Partial<Pick<RotationRecord, 'state' | 'completedAt' | 'lastError' | 'graceUntil' | 'firstUsedAt'>>;

/** What starts a rotation's grace (see `RotationRecord.graceFrom`). */
export type GraceFrom = 'rotation' | 'first-use';

/** One audit entry as written by the core. The store assigns `seq` and chains the hashes. */
export interface AuditEntry {
  readonly at: number;
  readonly type: string;
  readonly clientId: string | null;
  readonly keyId: string | null;
  readonly fingerprint: string | null;
  readonly rotationId: string | null;
  readonly actor: string | null;
  readonly reason: string | null;
  readonly data: Readonly<Record<string, unknown>>;
}

/** A stored audit row: the entry plus its place in the hash chain. */
export interface AuditRecord extends AuditEntry {
  readonly seq: number;
  /** `hash` of the previous row (`''` for the first). */
  readonly prevHash: string;
  /** SHA-256 over `prevHash` and the canonical form of this entry; see audit-chain.ts. */
  readonly hash: string;
}

/**
 * What the verifier needs to decide a key: the part of a record that the shared
 * cache (Redis) holds and every process keeps in its LRU.
 */
export type LiveKey = Pick<
  KeyRecord,
  'id' | 'clientId' | 'keyHash' | 'fingerprint' | 'status' | 'scopes' | 'expiresAt' | 'graceUntil' | 'rotationId' | 'version'
> & {
  /**
   * For the old key of a rotation (`graceUntil` set): when that rotation started,
   * the moment the key was deprecated (RFC 9745 `Deprecation`). `null` otherwise,
   * or when unknown (then no `Deprecation` header is sent, never a made-up time).
   */
  readonly deprecatedAt: number | null;
  /**
   * For the old key of a rotation in grace: when the new key was first used (the
   * rotation switched), so a later use of this key means some replica did not switch.
   * `null` while the new key is unused, or for any other key.
   */
  readonly switchedAt: number | null;
};

/**
 * The live part of a record. `deprecatedAt` is the start of the rotation named by
 * `rotationId` (a rotation row's `createdAt`, not a key column): the caller that
 * knows it passes it; it only counts while the key is in grace.
 */
export function toLiveKey(record: KeyRecord, deprecatedAt: number | null = null, switchedAt: number | null = null): LiveKey {
  return {
    id: record.id,
    clientId: record.clientId,
    keyHash: record.keyHash,
    fingerprint: record.fingerprint,
    status: record.status,
    scopes: record.scopes,
    expiresAt: record.expiresAt,
    graceUntil: record.graceUntil,
    rotationId: record.rotationId,
    deprecatedAt: record.graceUntil === null ? null : deprecatedAt,
    switchedAt: record.graceUntil === null ? null : switchedAt,
    version: record.version,
  };
}

/**
 * True when the cached form of `record` needs its rotation's start: an accepted
 * key in grace. A retired key (inactive, revoked) is refused whatever its dates.
 */
export function needsRotationStart(record: KeyRecord): record is KeyRecord & { rotationId: string } {
  return record.graceUntil !== null && record.rotationId !== null && (record.status === 'active' || record.status === 'pending');
}
