import { type AuditRecord, KEY_STATUSES, type KeyRecord, type KeyStatus, type RotationRecord } from '../types.js';
import type {
  AuditPageQuery,
  ClientPage,
  ClientQuery,
  ClientSummary,
  RotationPageQuery,
  UsageBucket,
  UsageQuery,
} from './console-queries.js';

/** The console's queries over in-memory rows: the reference the SQL stores are tested against. */

export function emptyStatusCounts(): Record<KeyStatus, number> {
  return Object.fromEntries(KEY_STATUSES.map((s) => [s, 0])) as Record<KeyStatus, number>;
}

function summarize(clientId: string, keys: readonly KeyRecord[]): ClientSummary {
  const counts = emptyStatusCounts();
  let nextExpiry: number | null = null;
  let lastUsedAt: number | null = null;
  for (const k of keys) {
    counts[k.status]++;
    if ((k.status === 'active' || k.status === 'pending') && k.expiresAt !== null)
      nextExpiry = Math.min(nextExpiry ?? k.expiresAt, k.expiresAt);
    if (k.lastUsedAt !== null) lastUsedAt = Math.max(lastUsedAt ?? k.lastUsedAt, k.lastUsedAt);
  }
  return { clientId, counts, nextExpiry, lastUsedAt };
}

function matches(keys: readonly KeyRecord[], clientId: string, query: ClientQuery): boolean {
  const search = query.search ?? '';
  if (search !== '' && !clientId.startsWith(search) && !keys.some((k) => k.keyHash.startsWith(search.toLowerCase()))) return false;
  if (query.status !== undefined && !keys.some((k) => query.status?.includes(k.status))) return false;
  const by = query.expiresBefore;
  if (
    by !== undefined &&
    !keys.some((k) => (k.status === 'active' || k.status === 'pending') && k.expiresAt !== null && k.expiresAt <= by)
  ) {
    return false;
  }
  return true;
}

const binary = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function listClientsIn(keys: Iterable<KeyRecord>, query: ClientQuery): ClientPage {
  const byClient = new Map<string, KeyRecord[]>();
  for (const k of keys) {
    if (query.after !== undefined && k.clientId <= query.after) continue;
    const list = byClient.get(k.clientId);
    if (list) list.push(k);
    else byClient.set(k.clientId, [k]);
  }
  const ids = [...byClient.keys()].sort(binary).filter((id) => matches(byClient.get(id) ?? [], id, query));
  const page = ids.slice(0, query.limit);
  return {
    clients: page.map((id) => summarize(id, byClient.get(id) ?? [])),
    next: ids.length > query.limit ? (page.at(-1) ?? null) : null,
  };
}

export function countByStatusIn(keys: Iterable<KeyRecord>): Record<KeyStatus, number> {
  const counts = emptyStatusCounts();
  for (const k of keys) counts[k.status]++;
  return counts;
}

export function auditPageIn(rows: readonly AuditRecord[], query: AuditPageQuery): AuditRecord[] {
  const out: AuditRecord[] = [];
  for (let i = rows.length - 1; i >= 0 && out.length < query.limit; i--) {
    const a = rows[i] as AuditRecord;
    if (query.beforeSeq !== undefined && a.seq >= query.beforeSeq) continue;
    if (query.clientId !== undefined && a.clientId !== query.clientId) continue;
    if (query.type !== undefined && a.type !== query.type) continue;
    if (query.actor !== undefined && a.actor !== query.actor) continue;
    out.push(a);
  }
  return out;
}

export function rotationsPageIn(rows: Iterable<RotationRecord>, query: RotationPageQuery): RotationRecord[] {
  const after = query.after;
  return [...rows]
    .filter(
      (r) =>
        query.state.includes(r.state) &&
        (after === undefined || r.createdAt > after.createdAt || (r.createdAt === after.createdAt && r.id > after.id)),
    )
    .sort((a, b) => a.createdAt - b.createdAt || binary(a.id, b.id))
    .slice(0, query.limit);
}

/** Hourly usage buckets in memory, keyed by key id and hour. */
export class MemoryUsage {
  private buckets = new Map<string, UsageBucket>();

  add(buckets: readonly UsageBucket[]): void {
    for (const b of buckets) {
      const id = `${b.keyId}\u0000${b.hour}`;
      const current = this.buckets.get(id);
      this.buckets.set(id, current ? { ...current, valid: current.valid + b.valid, grace: current.grace + b.grace } : { ...b });
    }
  }

  list(query: UsageQuery): UsageBucket[] {
    const ids = new Set(query.keyIds);
    return [...this.buckets.values()]
      .filter((b) => ids.has(b.keyId) && b.hour >= query.since)
      .sort((a, b) => binary(a.keyId, b.keyId) || a.hour - b.hour)
      .map((b) => ({ ...b }));
  }

  trim(before: number): number {
    let count = 0;
    for (const [id, b] of this.buckets) {
      if (b.hour < before) {
        this.buckets.delete(id);
        count++;
      }
    }
    return count;
  }
}
