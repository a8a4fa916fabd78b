import type { AuditPageQuery, ClientPage, ClientQuery, RotationPageQuery, UsageBucket, UsageQuery } from './console/console-queries.js';
import type { AuditEntry, AuditRecord, KeyPatch, KeyRecord, KeyStatus, RotationPatch, RotationRecord, RotationState } from './types.js';

/** A compare-and-set update: applies only if the row is still at `expectedVersion`. */
export interface VersionedUpdate<P> {
  readonly id: string;
  readonly expectedVersion: number;
  readonly patch: P;
}

/**
 * Everything one lifecycle operation writes, applied by the store atomically (one
 * transaction): all of it or none of it. The core decides *what* changes (the
 * lifecycle lives in one place); the store only guarantees atomicity,
 * compare-and-set and its uniqueness rules.
 */
export interface WriteBatch {
  readonly insertKeys?: readonly KeyRecord[];
  /** Each sets `version = expectedVersion + 1` and `updatedAt = at`. */
  readonly updateKeys?: readonly VersionedUpdate<KeyPatch>[];
  /** Rows deleted by purge; compare-and-set like updates. */
  readonly deleteKeys?: readonly { readonly id: string; readonly expectedVersion: number }[];
  readonly insertRotations?: readonly RotationRecord[];
  readonly updateRotations?: readonly VersionedUpdate<RotationPatch>[];
  /** Appended in order to the hash-chained audit log, in the same transaction. */
  readonly audit?: readonly AuditEntry[];
  /** The time of the write (the injected clock's now), stamped into `updatedAt`. */
  readonly at: number;
}

export interface KeyQuery {
  readonly clientId?: string;
  readonly status?: readonly KeyStatus[];
  /** Keys whose `expiresAt` is set and `<=` this time (due for rotation or expired). */
  readonly expiresBefore?: number;
  /** Keys whose `graceUntil` is set and `<=` this time. */
  readonly graceEndedBefore?: number;
  /** Keys whose status last changed at or before this time (retention, purge). */
  readonly statusChangedBefore?: number;
  /** At most this many rows (default: all). Ordered by `createdAt`, then `id`. */
  readonly limit?: number;
}

export interface RotationQuery {
  readonly clientId?: string;
  readonly state?: readonly RotationState[];
  /** Rotations whose `graceUntil <=` this time. */
  readonly graceEndedBefore?: number;
  readonly limit?: number;
}

/**
 * One audit row as `KeyStore.scanAuditForVerify` returns it, in the cheapest shape to hash:
 * `[seq, head, data, tail, prevHash, hash]`, where `head + canonicalJson(data) + tail` is
 * the row's canonical text (see `auditScanRow` for the layout; `data` undefined: none). A
 * SQL store can render head and tail in the query, so no text field is escaped in JS and
 * a row arrives as six values instead of twelve.
 */
export type AuditScanRow = readonly [seq: number, head: string, data: unknown, tail: string, prevHash: string, hash: string];

export interface AuditQuery {
  readonly clientId?: string;
  /** Entries at or after this time. */
  readonly since?: number;
  /** Entries with `seq >` this. */
  readonly afterSeq?: number;
  readonly limit?: number;
}

/** A status change a store records for processes that watch it (the change feed). */
export interface KeyChange {
  readonly keyHash: string;
  readonly status: KeyStatus | 'deleted';
  readonly version: number;
}

/** One row of a store's change log: a key change and its place in the log. */
export interface KeyChangeEntry extends KeyChange {
  /** Position in the log: increases by one per change, in commit order, never reused. */
  readonly seq: number;
  /** When the change was committed (the database's clock, ms since the epoch). */
  readonly at: number;
}

/** Where to read a change log from: after a position, or from a time (a process that starts). */
export type ChangeLogQuery =
  | { readonly afterSeq: number; readonly since?: undefined; readonly limit: number }
  | { readonly since: number; readonly afterSeq?: undefined; readonly limit: number };

/** One page of the change log. */
export interface ChangeLogPage {
  /** Changes in seq order, at most `limit`. */
  readonly changes: readonly KeyChangeEntry[];
  /**
   * The position to read on from: the last change's seq, or the log's head when
   * there was nothing to read (so a reader that starts from a time learns the head).
   */
  readonly lastSeq: number;
  /** Changes after `afterSeq` were trimmed before they were read: the reader missed some. */
  readonly gap: boolean;
}

/**
 * The durable change log (DESIGN.md, "The bus is a fast path, not the truth"):
 * every key change is committed with its sequence number in the same transaction
 * as the change itself, whoever writes it (keyward, the CLI, a script on the
 * database: the SQL stores log from triggers). Sequence numbers are assigned in
 * commit order, so a reader that has read up to N has seen every change <= N.
 */
export interface KeyChangeLog {
  readChanges(query: ChangeLogQuery): Promise<ChangeLogPage>;
  /** Deletes changes committed before `before` (ms). Returns how many were deleted. */
  trimChanges(before: number): Promise<number>;
}

/**
 * Every key hash in the store, any status, in pages: how a process builds its
 * known-keys filter (`KnownKeys`), so that unknown keys cost no lookup.
 */
export interface KeyHashScan {
  /** Up to `limit` key hashes greater than `after` (`''` for the first page), in ascending order. */
  scanKeyHashes(after: string, limit: number): Promise<string[]>;
}

/** True when `store` can list its key hashes (every store keyward ships can). */
export function hasKeyHashScan(store: KeyStore): store is KeyStore & KeyHashScan {
  return typeof (store as Partial<KeyHashScan>).scanKeyHashes === 'function';
}

/** True when `store` keeps a change log. */
export function hasChangeLog(store: KeyStore): store is KeyStore & KeyChangeLog {
  const s = store as Partial<KeyChangeLog>;
  return typeof s.readChanges === 'function' && typeof s.trimChanges === 'function';
}

/**
 * The durable source of truth. Implementations: `MemoryStore` (tests, demos),
 * `@keyward/sqlite` (embedded default), `@keyward/postgres` (production). Every one
 * must pass the contract suite exported from `@keyward/core/testing`.
 *
 * Rules every store keeps:
 * - `commit` is atomic; a failed compare-and-set or uniqueness rule rejects the
 *   whole batch with a `KeywardError` of code `KEYWARD_CONFLICT` and writes nothing.
 * - At most one `pending` key per client, and at most one open (`started` or
 *   `delivered`) rotation per client, enforced by the store itself (a constraint,
 *   not a check in code) so concurrent processes cannot break it.
 * - `keyHash` is unique; a rotation's `idempotencyKey` is unique per client.
 * - Records come back as new objects; callers may not mutate what they pass in.
 * - Lookups that fail to reach the backend reject (never resolve to "not found").
 */
export interface KeyStore {
  findKeyByHash(keyHash: string): Promise<KeyRecord | null>;
  findKeyById(id: string): Promise<KeyRecord | null>;
  /**
   * Optional: the keys among `keyHashes`, in any order, each once; hashes it does not hold
   * are left out. One round trip for many lookups: how a leak report of 1,000 tokens is
   * checked without 1,000 queries. Every store keyward ships has it.
   */
  findKeysByHashes?(keyHashes: readonly string[]): Promise<KeyRecord[]>;
  /**
   * Keys whose hash starts with `prefix`: a fingerprint (the hash's first 8 hex
   * characters) or part of one, or a longer prefix of the hash (up to all 64) to
   * tell apart keys whose fingerprints collide. The CLI's way to name a key.
   */
  findKeysByFingerprint(prefix: string): Promise<KeyRecord[]>;
  listKeys(query: KeyQuery): Promise<KeyRecord[]>;

  findRotation(id: string): Promise<RotationRecord | null>;
  findRotationByIdempotencyKey(clientId: string, idempotencyKey: string): Promise<RotationRecord | null>;
  listRotations(query: RotationQuery): Promise<RotationRecord[]>;

  commit(batch: WriteBatch): Promise<void>;

  /**
   * Records last use times in bulk (no version bump: bookkeeping, not a lifecycle
   * change). A time never moves backwards; unknown ids are ignored.
   */
  touchLastUsed(uses: readonly { readonly id: string; readonly at: number }[]): Promise<void>;

  listAudit(query: AuditQuery): Promise<AuditRecord[]>;

  /**
   * Optional: the audit rows with `seq > afterSeq`, in `seq` order, at most `limit`: the
   * rows `listAudit({ afterSeq, limit })` gives, as scan rows (what `auditScanRow` makes
   * of each), read the cheapest way the store knows. The chain verifier's keyset pages;
   * without it, the verifier pages `listAudit`.
   */
  scanAuditForVerify?(afterSeq: number, limit: number): Promise<AuditScanRow[]>;

  /** Releases connections the store opened itself. */
  close(): Promise<void>;

  /** Optional: the change log (see `KeyChangeLog`). Every store keyward ships keeps one. */
  readChanges?(query: ChangeLogQuery): Promise<ChangeLogPage>;
  trimChanges?(before: number): Promise<number>;

  /**
   * Optional: records that `notice` (e.g. `expiring:3d`) was sent for a key, once: `true`
   * for the one caller that recorded it, `false` when it was already recorded (by another
   * scheduler, or before a restart). Every store keyward ships has it.
   */
  claimNotice?(keyId: string, notice: string, at: number): Promise<boolean>;

  /** Optional: every key hash in pages (see `KeyHashScan`). Every store keyward ships has it. */
  scanKeyHashes?(after: string, limit: number): Promise<string[]>;

  /**
   * Optional: the operator console's paged reads and per-key usage counts (see
   * `ConsoleQueries` in console/console-queries.ts). Every store keyward ships has them.
   */
  listClients?(query: ClientQuery): Promise<ClientPage>;
  findKeysByIds?(ids: readonly string[]): Promise<KeyRecord[]>;
  countKeysByStatus?(): Promise<Record<KeyStatus, number>>;
  listAuditPage?(query: AuditPageQuery): Promise<AuditRecord[]>;
  listRotationsPage?(query: RotationPageQuery): Promise<RotationRecord[]>;
  addUsage?(buckets: readonly UsageBucket[]): Promise<void>;
  listUsage?(query: UsageQuery): Promise<UsageBucket[]>;
  trimUsage?(before: number): Promise<number>;
}
