import {
  type AuditPageQuery,
  type ClientPage,
  type ClientQuery,
  type ClientSummary,
  KEY_STATUSES,
  type KeyStatus,
  prefixUpperBound,
  type RotationPageQuery,
  type UsageBucket,
  type UsageQuery,
} from '@keyward/core';
import type { Sql } from './read-queries.js';
import { AUDIT_COLUMNS, ROTATION_COLUMNS } from './rows.js';
import type { SchemaNames } from './sql.js';

/*
 * The operator console's reads (`ConsoleQueries`) as SQL. Every page is a keyset on an
 * index, never OFFSET. Plans checked with EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL 15,
 * 100,000 clients (110,000 keys), 1,000 open and 20,000 closed rotations, warm cache
 * (`node bench/console.mjs --explain`):
 *
 * - Clients, first page and deep page (`after`): Limit → Group → Index Only Scan on
 *   keys_client_binary_idx from `after` (56 entries, 4-5 buffers, no heap), then a
 *   Nested Loop of Index Scans on the same index for the page's summaries. 0.13 ms
 *   execution at any depth (0.6 ms p50 through the store).
 * - Search: the id prefix is an index range `>= s AND < bound(s)` on the same index,
 *   read in order and stopped at the limit; the hash prefix a range on keys_key_hash_key,
 *   its owners hashed, then their keys. The ranges are exact (see prefixUpperBound), so
 *   there is no LIKE and no metacharacter to escape. Each branch is an ordered LIMIT;
 *   the union of the two short lists is sorted. 0.06-0.2 ms.
 * - Status / expiry filters: HAVING bool_or(...) on the same index-only scan (status
 *   and expires_at are INCLUDEd, so no heap). It reads clients until the page is full:
 *   ~1,700 entries for 1 client in 30 matching (0.6 ms); a filter almost nothing
 *   matches reads the whole index (~110k entries, ~10 ms), the one non-constant case.
 * - Rotations in open states: Index Scan on the partial index rotations_one_open_per_client
 *   (1,000 rows), top-N Sort, Limit: 0.36 ms. Closed states use rotations_state_created_idx.
 * - client_id has the database's collation, which need not be C: every comparison and
 *   ORDER BY here says COLLATE "C", so pages are in binary order and the C index is used
 *   whatever the database's collation (same plan checked with client_id in "en-US-x-icu").
 */

/** A column of `keys.client_id` in binary order, matching keys_client_binary_idx. */
const CLIENT = 'k.client_id COLLATE "C"';

/** Numbered parameters for SQL text assembled from fixed fragments. */
class Params {
  readonly values: unknown[] = [];

  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** Per-client conditions: a client matches when one of its keys meets each (possibly different keys). */
function havingClause(q: ClientQuery, p: Params): string {
  const parts: string[] = [];
  if (q.status !== undefined) parts.push(`bool_or(k.status = ANY(${p.add([...q.status])}::text[]))`);
  if (q.expiresBefore !== undefined) {
    parts.push(`bool_or(k.status IN ('active', 'pending') AND k.expires_at <= ${p.add(q.expiresBefore)})`);
  }
  return parts.length === 0 ? '' : ` HAVING ${parts.join(' AND ')}`;
}

/** One ordered branch of candidate client ids: `conditions` on keys, grouped by client, filtered, first `limit`. */
function branch(conditions: string[], having: string, limit: string): string {
  return `SELECT ${CLIENT} AS client_id FROM %KEYS% AS k WHERE ${conditions.join(' AND ')}
          GROUP BY 1${having} ORDER BY 1 LIMIT ${limit}`;
}

/**
 * `listClients`: the page's client ids (limit + 1, to know whether there is a next page)
 * and each one's summary over all its keys. Rows come back in binary client id order.
 */
export function listClientsSql(n: SchemaNames, q: ClientQuery): Sql {
  const p = new Params();
  const limit = p.add(Math.max(0, Math.floor(q.limit)) + 1);
  const having = havingClause(q, p);
  const after = q.after === undefined ? [] : [`${CLIENT} > ${p.add(q.after)}`];
  const search = q.search ?? '';
  let page: string;
  if (search === '') {
    page = branch(after.length > 0 ? after : ['true'], having, limit);
  } else {
    // Clients whose id starts with the search, and clients owning a key whose hash does.
    const range = (column: string, prefix: string) => {
      const bound = prefixUpperBound(prefix);
      return [`${column} >= ${p.add(prefix)}`, ...(bound === null ? [] : [`${column} < ${p.add(bound)}`])];
    };
    const byId = branch([...range(CLIENT, search), ...after], having, limit);
    const owners = `SELECT h.client_id COLLATE "C" FROM %KEYS% AS h WHERE ${range('h.key_hash', search.toLowerCase()).join(' AND ')}`;
    const byHash = branch([`${CLIENT} IN (${owners})`, ...after], having, limit);
    page = `SELECT client_id FROM ((${byId}) UNION (${byHash})) AS m ORDER BY client_id LIMIT ${limit}`;
  }
  const text = `WITH page AS (${page})
    SELECT page.client_id,
           count(*) FILTER (WHERE k.status = 'pending') AS pending,
           count(*) FILTER (WHERE k.status = 'active') AS active,
           count(*) FILTER (WHERE k.status = 'inactive') AS inactive,
           count(*) FILTER (WHERE k.status = 'revoked') AS revoked,
           min(k.expires_at) FILTER (WHERE k.status IN ('active', 'pending')) AS next_expiry,
           max(k.last_used_at) AS last_used_at
    FROM page JOIN %KEYS% AS k ON ${CLIENT} = page.client_id
    GROUP BY page.client_id ORDER BY page.client_id`;
  return { text: text.replaceAll('%KEYS%', n.keys), values: p.values };
}

type Row = Record<string, unknown>;

function msOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

export function clientPageFromRows(rows: readonly Row[], limit: number): ClientPage {
  const summaries: ClientSummary[] = rows.map((r) => ({
    clientId: r.client_id as string,
    counts: {
      pending: Number(r.pending),
      active: Number(r.active),
      inactive: Number(r.inactive),
      revoked: Number(r.revoked),
    },
    nextExpiry: msOrNull(r.next_expiry),
    lastUsedAt: msOrNull(r.last_used_at),
  }));
  const size = Math.max(0, Math.floor(limit));
  const clients = summaries.slice(0, size);
  return { clients, next: summaries.length > size ? (clients.at(-1)?.clientId ?? null) : null };
}

export function countKeysByStatusSql(n: SchemaNames): Sql {
  return { text: `SELECT status, count(*) AS n FROM ${n.keys} GROUP BY status`, values: [] };
}

export function statusCountsFromRows(rows: readonly Row[]): Record<KeyStatus, number> {
  const counts = Object.fromEntries(KEY_STATUSES.map((s) => [s, 0])) as Record<KeyStatus, number>;
  for (const r of rows) counts[r.status as KeyStatus] = Number(r.n);
  return counts;
}

/** Newest first: a backward scan of the primary key, or of (client_id|type|actor, seq) when filtered. */
export function listAuditPageSql(n: SchemaNames, q: AuditPageQuery): Sql {
  const p = new Params();
  const where: string[] = [];
  if (q.clientId !== undefined) where.push(`client_id = ${p.add(q.clientId)}`);
  if (q.type !== undefined) where.push(`type = ${p.add(q.type)}`);
  if (q.actor !== undefined) where.push(`actor = ${p.add(q.actor)}`);
  if (q.beforeSeq !== undefined) where.push(`seq < ${p.add(q.beforeSeq)}`);
  const clause = where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`;
  return {
    text: `SELECT ${AUDIT_COLUMNS} FROM ${n.audit}${clause} ORDER BY seq DESC LIMIT ${p.add(Math.max(0, Math.floor(q.limit)))}`,
    values: p.values,
  };
}

/** Oldest first by (created_at, id); `id` is COLLATE "C", so ties break in binary order. */
export function listRotationsPageSql(n: SchemaNames, q: RotationPageQuery): Sql {
  const p = new Params();
  const where = [`state = ANY(${p.add([...q.state])}::text[])`];
  if (q.after !== undefined) where.push(`(created_at, id) > (${p.add(q.after.createdAt)}::bigint, ${p.add(q.after.id)}::text)`);
  return {
    text: `SELECT ${ROTATION_COLUMNS} FROM ${n.rotations} WHERE ${where.join(' AND ')}
           ORDER BY created_at, id LIMIT ${p.add(Math.max(0, Math.floor(q.limit)))}`,
    values: p.values,
  };
}

/**
 * One statement for the whole batch. Buckets repeated in the batch are summed first
 * (an upsert may not touch a row twice), and rows go in in key order so two
 * concurrent batches lock shared rows in the same order and cannot deadlock.
 */
export function addUsageSql(n: SchemaNames, buckets: readonly UsageBucket[]): Sql {
  return {
    text: `INSERT INTO ${n.usage} AS u (key_id, hour, valid, grace)
           SELECT key_id, hour, sum(valid), sum(grace)
           FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) AS b(key_id, hour, valid, grace)
           GROUP BY key_id, hour ORDER BY key_id, hour
           ON CONFLICT (key_id, hour) DO UPDATE SET valid = u.valid + excluded.valid, grace = u.grace + excluded.grace`,
    values: [buckets.map((b) => b.keyId), buckets.map((b) => b.hour), buckets.map((b) => b.valid), buckets.map((b) => b.grace)],
  };
}

export function listUsageSql(n: SchemaNames, q: UsageQuery): Sql {
  return {
    text: `SELECT key_id, hour, valid, grace FROM ${n.usage} WHERE key_id = ANY($1::text[]) AND hour >= $2 ORDER BY key_id, hour`,
    values: [[...q.keyIds], q.since],
  };
}

export function usageFromRows(rows: readonly Row[]): UsageBucket[] {
  return rows.map((r) => ({ keyId: r.key_id as string, hour: Number(r.hour), valid: Number(r.valid), grace: Number(r.grace) }));
}

/** Answers `deleted`. */
export function trimUsageSql(n: SchemaNames, before: number): Sql {
  return {
    text: `WITH gone AS (DELETE FROM ${n.usage} WHERE hour < $1 RETURNING 1) SELECT count(*) AS deleted FROM gone`,
    values: [before],
  };
}
