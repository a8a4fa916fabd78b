import type { ChangeLogPage, ChangeLogQuery, KeyChangeEntry } from '@keyward/core';
import type { Sql } from './read-queries.js';
import type { SchemaNames } from './sql.js';

/**
 * `readChanges` as one statement, so the trim mark, the head and the rows come from one
 * snapshot: a trim running at the same time is seen whole or not at all. Rows are read
 * after the position (or from a time), at most `limit`; the meta rows always come back,
 * joined to no row when there is nothing to read.
 */
export function readChangesSql(n: SchemaNames, query: ChangeLogQuery): Sql {
  const byTime = query.afterSeq === undefined;
  const where = byTime ? 'c.at >= $1' : 'c.seq > greatest($1::bigint, t.value)';
  return {
    text: `SELECT t.value AS trimmed, h.value AS head, c.seq, c.key_hash, c.status, c.version, c.at
           FROM ${n.meta} AS t CROSS JOIN ${n.meta} AS h
           LEFT JOIN LATERAL (SELECT * FROM ${n.changes} AS c WHERE ${where} ORDER BY c.seq LIMIT $2) AS c ON true
           WHERE t.name = 'key_changes_trimmed_through' AND h.name = 'key_changes_seq'
           ORDER BY c.seq`,
    values: [byTime ? query.since : query.afterSeq, query.limit],
  };
}

interface Row {
  trimmed: string;
  head: string;
  seq: string | null;
  key_hash: string | null;
  status: KeyChangeEntry['status'] | null;
  version: number | null;
  at: string | null;
}

export function changePageFromRows(rows: readonly Row[], query: ChangeLogQuery): ChangeLogPage {
  const first = rows[0];
  if (first === undefined) throw new Error('the change log counter rows are missing');
  const trimmed = Number(first.trimmed);
  const changes: KeyChangeEntry[] = [];
  for (const r of rows) {
    if (r.seq === null) continue;
    changes.push({
      seq: Number(r.seq),
      keyHash: r.key_hash as string,
      status: r.status as KeyChangeEntry['status'],
      version: Number(r.version),
      at: Number(r.at),
    });
  }
  const last = changes.at(-1)?.seq;
  if (query.afterSeq === undefined) return { changes, lastSeq: last ?? Number(first.head), gap: false };
  return { changes, lastSeq: last ?? Math.max(query.afterSeq, trimmed), gap: trimmed > query.afterSeq };
}

/** Deletes the prefix of the log older than `$1` and records how far it went. Answers `deleted`. */
export function trimChangesSql(n: SchemaNames, before: number): Sql {
  return {
    text: `WITH cut AS (SELECT max(seq) AS seq FROM ${n.changes} WHERE at < $1),
           gone AS (DELETE FROM ${n.changes} WHERE seq <= (SELECT seq FROM cut) RETURNING 1),
           mark AS (UPDATE ${n.meta} SET value = greatest(value, (SELECT seq FROM cut))
                    WHERE name = 'key_changes_trimmed_through' AND (SELECT seq FROM cut) IS NOT NULL RETURNING 1)
           SELECT (SELECT count(*) FROM gone) AS deleted, (SELECT count(*) FROM mark) AS marked`,
    values: [before],
  };
}
