import type { ChangeLogPage, ChangeLogQuery, KeyChangeEntry } from '@keyward/core';
import type { SqliteDatabase } from './options.js';

/** `keyward_meta` row holding the highest `key_changes.seq` ever trimmed. */
const TRIMMED_THROUGH = 'key_changes_trimmed_through';

/** The highest change seq ever assigned (survives trimming: `AUTOINCREMENT` never reuses a seq). */
export function highWaterMark(db: SqliteDatabase): number {
  const row = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'key_changes'").get() as { seq: number } | undefined;
  return row?.seq ?? 0;
}

export function trimmedThrough(db: SqliteDatabase): number {
  const row = db.prepare('SELECT value FROM keyward_meta WHERE name = ?').get(TRIMMED_THROUGH) as { value: number } | undefined;
  return row?.value ?? 0;
}

export interface ChangeBatch {
  /** Distinct key hashes changed after `afterSeq`, oldest first. */
  readonly hashes: string[];
  /** The seq to resume from next time. */
  readonly lastSeq: number;
  /** Rows after `afterSeq` were trimmed before they were read, or there were too many to list: drop everything. */
  readonly reset: boolean;
}

/**
 * Reads the changes after `afterSeq` from one snapshot (a read transaction), so a
 * trim running at the same time is either wholly seen or not at all.
 */
export function readChanges(db: SqliteDatabase, afterSeq: number, max: number): ChangeBatch {
  return db.transaction((): ChangeBatch => {
    const trimmed = trimmedThrough(db);
    const lost = trimmed > afterSeq;
    const from = Math.max(afterSeq, trimmed);
    const rows = db.prepare('SELECT seq, key_hash FROM key_changes WHERE seq > ? ORDER BY seq LIMIT ?').all(from, max + 1) as {
      seq: number;
      key_hash: string;
    }[];
    if (rows.length > max) return { hashes: [], lastSeq: highWaterMark(db), reset: true };
    const hashes = [...new Set(rows.map((r) => r.key_hash))];
    return { hashes: lost ? [] : hashes, lastSeq: rows.at(-1)?.seq ?? from, reset: lost };
  })();
}

/**
 * Deletes change rows written before `cutoff` (wall-clock ms), as a contiguous
 * prefix by seq, and records how far it trimmed so a reader that had not got that
 * far knows it missed changes. Returns the number of rows deleted.
 */
export function trimChanges(db: SqliteDatabase, cutoff: number): number {
  return db
    .transaction((): number => {
      const row = db.prepare('SELECT max(seq) AS seq FROM key_changes WHERE at < ?').get(cutoff) as { seq: number | null };
      if (row.seq === null) return 0;
      const deleted = db.prepare('DELETE FROM key_changes WHERE seq <= ?').run(row.seq).changes;
      db.prepare(
        'INSERT INTO keyward_meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)',
      ).run(TRIMMED_THROUGH, row.seq);
      return deleted;
    })
    .immediate();
}

interface ChangeRow {
  seq: number;
  key_hash: string;
  status: KeyChangeEntry['status'];
  version: number;
  at: number;
}

const toEntry = (r: ChangeRow): KeyChangeEntry => ({ seq: r.seq, keyHash: r.key_hash, status: r.status, version: r.version, at: r.at });

/** The store's `readChanges` (see `KeyChangeLog` in the core): one read transaction, so a concurrent trim is seen whole or not at all. */
export function readChangeLog(db: SqliteDatabase, query: ChangeLogQuery): ChangeLogPage {
  return db.transaction((): ChangeLogPage => {
    const columns = 'seq, key_hash, status, version, at';
    if (query.afterSeq === undefined) {
      const rows = db
        .prepare(`SELECT ${columns} FROM key_changes WHERE at >= ? ORDER BY seq LIMIT ?`)
        .all(query.since, query.limit) as ChangeRow[];
      return { changes: rows.map(toEntry), lastSeq: rows.at(-1)?.seq ?? highWaterMark(db), gap: false };
    }
    const trimmed = trimmedThrough(db);
    const rows = db
      .prepare(`SELECT ${columns} FROM key_changes WHERE seq > ? ORDER BY seq LIMIT ?`)
      .all(Math.max(query.afterSeq, trimmed), query.limit) as ChangeRow[];
    return { changes: rows.map(toEntry), lastSeq: rows.at(-1)?.seq ?? Math.max(query.afterSeq, trimmed), gap: trimmed > query.afterSeq };
  })();
}
