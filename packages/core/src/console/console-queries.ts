import type { KeyStore } from '../key-store.js';
import type { AuditRecord, KeyRecord, KeyStatus, RotationRecord, RotationState } from '../types.js';

/**
 * Requests one key served in one hour: the operator console's rotation progress
 * (is the new key in use? is the old one silent?). Counted in memory on the hot path
 * and written in batches, like `last_used_at`.
 */
export interface UsageBucket {
  readonly keyId: string;
  /** Start of the hour, ms since the epoch (a multiple of 3,600,000). */
  readonly hour: number;
  /** Requests accepted with the key in good standing. */
  readonly valid: number;
  /** Requests accepted while the key was the old key of a rotation, in its grace. */
  readonly grace: number;
}

export interface UsageQuery {
  readonly keyIds: readonly string[];
  /** Buckets whose hour is at or after this time. */
  readonly since: number;
}

export interface ClientQuery {
  /**
   * Clients whose id starts with this, or that own a key whose fingerprint (hash)
   * starts with it (compared in lower case). Empty or omitted: every client.
   */
  readonly search?: string;
  /** Clients with at least one key in one of these statuses. */
  readonly status?: readonly KeyStatus[];
  /** Clients with an active or pending key whose `expiresAt` is set and `<=` this time. */
  readonly expiresBefore?: number;
  /** Keyset pagination: clients whose id sorts after this one (binary order). */
  readonly after?: string;
  readonly limit: number;
}

/** One client, as the console lists it: derived from its keys (there is no client table). */
export interface ClientSummary {
  readonly clientId: string;
  /** Its keys by status (every status present, zero when it has none). */
  readonly counts: Readonly<Record<KeyStatus, number>>;
  /** The earliest `expiresAt` among its active and pending keys. */
  readonly nextExpiry: number | null;
  /** The latest `lastUsedAt` among its keys. */
  readonly lastUsedAt: number | null;
}

export interface ClientPage {
  /** Ordered by client id (binary order), at most `limit`. */
  readonly clients: readonly ClientSummary[];
  /** Pass as `after` for the next page; `null` on the last page. */
  readonly next: string | null;
}

export interface AuditPageQuery {
  readonly clientId?: string;
  readonly type?: string;
  readonly actor?: string;
  /** Entries with `seq <` this; omitted: from the newest. */
  readonly beforeSeq?: number;
  readonly limit: number;
}

export interface RotationPageQuery {
  readonly state: readonly RotationState[];
  /** Keyset pagination: the last rotation of the previous page. */
  readonly after?: { readonly createdAt: number; readonly id: string };
  readonly limit: number;
}

/**
 * The paged reads the operator console needs, and the per-key usage counts. They stay
 * fast at 100,000 clients: keyset pages on indexed columns, never OFFSET, never a
 * whole table in memory. Every store keyward ships has them (see the contract suite).
 */
export interface ConsoleQueries {
  listClients(query: ClientQuery): Promise<ClientPage>;
  /** The keys with these ids, in one query (a page of rotations and their keys); unknown ids are left out, in no set order. */
  findKeysByIds(ids: readonly string[]): Promise<KeyRecord[]>;
  /** Every key by status (for the overview). */
  countKeysByStatus(): Promise<Record<KeyStatus, number>>;
  /** Audit rows newest first, filtered. */
  listAuditPage(query: AuditPageQuery): Promise<AuditRecord[]>;
  /** Rotations in the given states, oldest first (`createdAt`, then `id`). */
  listRotationsPage(query: RotationPageQuery): Promise<RotationRecord[]>;
  /** Adds the counts to the stored buckets (creating them); unknown key ids are kept too. */
  addUsage(buckets: readonly UsageBucket[]): Promise<void>;
  /** Buckets of these keys, ordered by key id then hour. */
  listUsage(query: UsageQuery): Promise<UsageBucket[]>;
  /** Deletes buckets whose hour is before `before`. Returns how many were deleted. */
  trimUsage(before: number): Promise<number>;
}

/** True when `store` has the console's queries (every store keyward ships has). */
export function hasConsoleQueries(store: KeyStore): store is KeyStore & ConsoleQueries {
  const s = store as Partial<ConsoleQueries>;
  return (
    typeof s.listClients === 'function' &&
    typeof s.findKeysByIds === 'function' &&
    typeof s.countKeysByStatus === 'function' &&
    typeof s.listAuditPage === 'function' &&
    typeof s.listRotationsPage === 'function' &&
    typeof s.addUsage === 'function' &&
    typeof s.listUsage === 'function' &&
    typeof s.trimUsage === 'function'
  );
}

export const HOUR_MS = 3_600_000;

/** The start of the hour `at` falls in. */
export function hourOf(at: number): number {
  return at - (at % HOUR_MS);
}
