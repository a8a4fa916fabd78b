import {
  type AuditPageQuery,
  type AuditRecord,
  type ClientPage,
  type ClientQuery,
  KEY_STATUSES,
  type KeyStatus,
  prefixUpperBound,
  type RotationPageQuery,
  type RotationRecord,
  type UsageBucket,
  type UsageQuery,
} from '@keyward/core';
import { AUDIT_COLUMNS, type AuditRow, auditFromRow, ROTATION_COLUMNS, type RotationRow, rotationFromRow } from './rows.js';
import type { StatementCache } from './statement-cache.js';

/*
 * The operator console's reads (`ConsoleQueries`) on SQLite. The SQL text depends only
 * on which filters are set (values are named parameters), so the statement cache stays
 * small. BINARY collation compares UTF-8 bytes: client ids page in binary order, and a
 * prefix is an exact index range `>= s AND < bound(s)` (see prefixUpperBound): no LIKE,
 * which SQLite folds case for, and no metacharacters to escape.
 * EXPLAIN QUERY PLAN at 100,000 clients (110,000 keys, 21,000 rotations), in memory:
 * - a page: SEARCH k USING COVERING INDEX keys_client_status_idx (client_id>?), stopped
 *   at the limit, then the page's keys by the same index: 0.15 ms at any depth;
 * - search: the same index on (client_id>? AND client_id<?) and keys_key_hash_key on
 *   (key_hash>? AND key_hash<?), each branch ordered and limited: 0.06-0.2 ms;
 * - status / expiry filters: the covering index, read until the page is full (0.6 ms
 *   for 1 client in 30; a filter nothing matches reads all of it);
 * - rotations: rotations_state_created_idx / rotations_due_idx per state, then a sort of
 *   that state's rows (0.3-0.4 ms for 1,000 open); usage: the primary key per key id;
 *   trim: key_usage_hour_idx.
 */

type Params = Record<string, unknown>;

function pageSize(limit: number): number {
  return Math.max(0, Math.floor(limit));
}

/** `column >= @lo AND column < @hi` for the strings starting with `prefix` (no upper bound when there is none). */
function prefixRange(column: string, name: string, prefix: string, params: Params): string[] {
  params[`${name}Lo`] = prefix;
  const bound = prefixUpperBound(prefix);
  if (bound === null) return [`${column} >= @${name}Lo`];
  params[`${name}Hi`] = bound;
  return [`${column} >= @${name}Lo`, `${column} < @${name}Hi`];
}

/** Per-client conditions: a client matches when some key meets each (possibly different keys). */
function having(q: ClientQuery, params: Params): string {
  const parts: string[] = [];
  if (q.status !== undefined) {
    params.status = JSON.stringify(q.status);
    parts.push('max(k.status IN (SELECT value FROM json_each(@status)))');
  }
  if (q.expiresBefore !== undefined) {
    params.expiresBefore = q.expiresBefore;
    parts.push("max(k.status IN ('active', 'pending') AND k.expires_at <= @expiresBefore)");
  }
  return parts.length === 0 ? '' : ` HAVING ${parts.join(' AND ')}`;
}

/** Client ids of keys meeting `conditions`, filtered per client, in order, the first `@limit`. */
function branch(conditions: readonly string[], filter: string): string {
  const where = conditions.length === 0 ? '' : ` WHERE ${conditions.join(' AND ')}`;
  return `SELECT k.client_id AS client_id FROM keys AS k${where} GROUP BY k.client_id${filter} ORDER BY k.client_id LIMIT @limit`;
}

interface ClientRow {
  client_id: string;
  pending: number;
  active: number;
  inactive: number;
  revoked: number;
  next_expiry: number | null;
  last_used_at: number | null;
}

export function listClients(sql: StatementCache, q: ClientQuery): ClientPage {
  const size = pageSize(q.limit);
  const params: Params = { limit: size + 1 };
  const filter = having(q, params);
  const after: string[] = [];
  if (q.after !== undefined) {
    params.after = q.after;
    after.push('k.client_id > @after');
  }
  const search = q.search ?? '';
  let page: string;
  if (search === '') {
    page = branch(after, filter);
  } else {
    // Clients whose id starts with the search, and clients owning a key whose hash does.
    const byId = branch([...prefixRange('k.client_id', 'id', search, params), ...after], filter);
    const owners = `SELECT h.client_id FROM keys AS h WHERE ${prefixRange('h.key_hash', 'hash', search.toLowerCase(), params).join(' AND ')}`;
    const byHash = branch([`k.client_id IN (${owners})`, ...after], filter);
    page = `SELECT client_id FROM (SELECT * FROM (${byId}) UNION SELECT * FROM (${byHash})) ORDER BY client_id LIMIT @limit`;
  }
  const rows = sql
    .get(
      `WITH page AS (${page})
       SELECT page.client_id AS client_id,
              sum(k.status = 'pending') AS pending, sum(k.status = 'active') AS active,
              sum(k.status = 'inactive') AS inactive, sum(k.status = 'revoked') AS revoked,
              min(CASE WHEN k.status IN ('active', 'pending') THEN k.expires_at END) AS next_expiry,
              max(k.last_used_at) AS last_used_at
       FROM page JOIN keys AS k ON k.client_id = page.client_id
       GROUP BY page.client_id ORDER BY page.client_id`,
    )
    .all(params) as ClientRow[];
  const clients = rows.slice(0, size).map((r) => ({
    clientId: r.client_id,
    counts: { pending: r.pending, active: r.active, inactive: r.inactive, revoked: r.revoked },
    nextExpiry: r.next_expiry,
    lastUsedAt: r.last_used_at,
  }));
  return { clients, next: rows.length > size ? (clients.at(-1)?.clientId ?? null) : null };
}

export function countKeysByStatus(sql: StatementCache): Record<KeyStatus, number> {
  const counts = Object.fromEntries(KEY_STATUSES.map((s) => [s, 0])) as Record<KeyStatus, number>;
  const rows = sql.get('SELECT status, count(*) AS n FROM keys GROUP BY status').all() as { status: KeyStatus; n: number }[];
  for (const r of rows) counts[r.status] = r.n;
  return counts;
}

/** Newest first: the rowid (seq) backwards, or (client_id|type|actor, seq) backwards when filtered. */
export function listAuditPage(sql: StatementCache, q: AuditPageQuery): AuditRecord[] {
  const params: Params = { limit: pageSize(q.limit) };
  const where: string[] = [];
  const add = (name: keyof AuditPageQuery, condition: string) => {
    if (q[name] === undefined) return;
    params[name] = q[name];
    where.push(condition);
  };
  add('clientId', 'client_id = @clientId');
  add('type', 'type = @type');
  add('actor', 'actor = @actor');
  add('beforeSeq', 'seq < @beforeSeq');
  const clause = where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`;
  const rows = sql.get(`SELECT ${AUDIT_COLUMNS} FROM audit_events${clause} ORDER BY seq DESC LIMIT @limit`).all(params) as AuditRow[];
  return rows.map(auditFromRow);
}

/**
 * Oldest first by (created_at, id), a row-value keyset. The states are one parameter
 * each (at most five): with `IN (SELECT … json_each)` SQLite scanned the whole table
 * instead of rotations_state_created_idx.
 */
export function listRotationsPage(sql: StatementCache, q: RotationPageQuery): RotationRecord[] {
  if (q.state.length === 0) return [];
  const states = [...new Set(q.state)];
  const params: Params = { limit: pageSize(q.limit) };
  for (const [i, state] of states.entries()) params[`state${i}`] = state;
  const inStates = states.map((_, i) => `@state${i}`).join(', ');
  let keyset = '';
  if (q.after !== undefined) {
    params.afterCreatedAt = q.after.createdAt;
    params.afterId = q.after.id;
    keyset = ' AND (created_at, id) > (@afterCreatedAt, @afterId)';
  }
  const rows = sql
    .get(`SELECT ${ROTATION_COLUMNS} FROM rotations WHERE state IN (${inStates})${keyset} ORDER BY created_at, id LIMIT @limit`)
    .all(params) as RotationRow[];
  return rows.map(rotationFromRow);
}

/**
 * One statement for the whole batch: rows come in as JSON and are upserted one by one
 * (SQLite applies an upsert row by row, so a bucket repeated in the batch adds up).
 * `WHERE true` keeps the parser from reading ON CONFLICT as a join constraint.
 */
export function addUsage(sql: StatementCache, buckets: readonly UsageBucket[]): void {
  if (buckets.length === 0) return;
  sql
    .get(
      `INSERT INTO key_usage (key_id, hour, valid, grace)
       SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]')
       FROM json_each(?) WHERE true
       ON CONFLICT (key_id, hour) DO UPDATE SET valid = valid + excluded.valid, grace = grace + excluded.grace`,
    )
    .run(JSON.stringify(buckets.map((b) => [b.keyId, b.hour, b.valid, b.grace])));
}

export function listUsage(sql: StatementCache, q: UsageQuery): UsageBucket[] {
  if (q.keyIds.length === 0) return [];
  const rows = sql
    .get(
      'SELECT key_id, hour, valid, grace FROM key_usage WHERE key_id IN (SELECT value FROM json_each(?)) AND hour >= ? ORDER BY key_id, hour',
    )
    .all(JSON.stringify(q.keyIds), q.since) as { key_id: string; hour: number; valid: number; grace: number }[];
  return rows.map((r) => ({ keyId: r.key_id, hour: r.hour, valid: r.valid, grace: r.grace }));
}

export function trimUsage(sql: StatementCache, before: number): number {
  return sql.get('DELETE FROM key_usage WHERE hour < ?').run(before).changes;
}
