import { hash as oneShotHash } from 'node:crypto';
import type { AuditEntry, AuditRecord } from './types.js';

/** JSON with object keys sorted at every depth, so equal entries hash equally in every store. */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  let out = '{';
  for (const key of Object.keys(record).sort()) {
    const item = record[key];
    if (item === undefined) continue;
    out += `${out.length === 1 ? '' : ','}${JSON.stringify(key)}:${canonicalJson(item)}`;
  }
  return `${out}}`;
}

/** The fields an audit row's hash covers, in sorted order (the order `canonicalJson` would give them). */
const HASHED_FIELDS = ['actor', 'at', 'clientId', 'data', 'fingerprint', 'keyId', 'reason', 'rotationId', 'seq', 'type'] as const;
const FIELD_PREFIX = HASHED_FIELDS.map((f) => `${JSON.stringify(f)}:`);

/**
 * The hash of one audit row: SHA-256 over the previous row's hash, a newline, and
 * `canonicalJson({ seq, at, type, clientId, keyId, fingerprint, rotationId, actor, reason, data })`
 * (built field by field in that sorted order: the same text, without sorting the outer keys per row).
 */
export function auditRowHash(prevHash: string, seq: number, entry: AuditEntry): string {
  let body = '{';
  for (let i = 0; i < HASHED_FIELDS.length; i++) {
    const field = HASHED_FIELDS[i] as (typeof HASHED_FIELDS)[number];
    const value = field === 'seq' ? seq : entry[field];
    if (value === undefined) continue;
    body += `${body.length === 1 ? '' : ','}${FIELD_PREFIX[i]}${canonicalJson(value)}`;
  }
  return oneShotHash('sha256', `${prevHash}\n${body}}`, 'hex');
}

/**
 * Chains a new entry after `previous` (the last stored row, or null for the first).
 * Stores call this inside the transaction that appends the row.
 */
export function chainAuditEntry(previous: Pick<AuditRecord, 'seq' | 'hash'> | null, entry: AuditEntry): AuditRecord {
  const seq = previous ? previous.seq + 1 : 1;
  const prevHash = previous ? previous.hash : '';
  return { ...entry, seq, prevHash, hash: auditRowHash(prevHash, seq, entry) };
}

export type AuditChainReport =
  | { ok: true; count: number; lastHash: string }
  | { ok: false; count: number; brokenAt: number; problem: 'edited' | 'missing_or_reordered' };

/**
 * Walks the whole chain in `seq` order (from seq 1) and reports the first broken link: a row whose content
 * no longer matches its hash (edited), or whose `prevHash`/`seq` does not follow the
 * row before (deleted, inserted or reordered).
 */
export function verifyAuditRows(rows: readonly AuditRecord[]): AuditChainReport {
  let prevHash = '';
  let expectedSeq = 1;
  for (const [index, row] of rows.entries()) {
    if (row.seq !== expectedSeq || row.prevHash !== prevHash) {
      return { ok: false, count: index, brokenAt: row.seq, problem: 'missing_or_reordered' };
    }
    if (auditRowHash(row.prevHash, row.seq, row) !== row.hash) {
      return { ok: false, count: index, brokenAt: row.seq, problem: 'edited' };
    }
    prevHash = row.hash;
    expectedSeq = row.seq + 1;
  }
  return { ok: true, count: rows.length, lastHash: prevHash };
}
