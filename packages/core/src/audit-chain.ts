import { hash as oneShotHash } from 'node:crypto';
import type { AuditScanRow } from './key-store.js';
import type { AuditEntry, AuditRecord } from './types.js';

/** Characters JSON.stringify escapes in a string (quote, backslash, controls, surrogates): without them a string is its JSON text in quotes. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what JSON escapes
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** `JSON.stringify(text)`, without the native call for the common string that needs no escaping. */
function jsonString(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;
}

/** JSON with object keys sorted at every depth, so equal entries hash equally in every store. */
export function canonicalJson(value: unknown): string {
  // Same text as JSON.stringify for every leaf (String(n) is JSON's text of a finite number).
  if (typeof value === 'string') return jsonString(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (value === null) return 'null';
  if (typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length > 1) keys.sort();
  let out = '{';
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue;
    out += `${out.length === 1 ? '' : ','}${jsonString(key)}:${canonicalJson(item)}`;
  }
  return `${out}}`;
}

/** `,"name":<canonical value>`, or nothing for an undefined value (a field a store left out). */
function member(prefix: string, value: unknown): string {
  return value === undefined ? '' : `${prefix}${canonicalJson(value)}`;
}

/**
 * The hash of one audit row from its fields: SHA-256 over the previous row's hash, a
 * newline, and `canonicalJson({ seq, at, type, clientId, keyId, fingerprint, rotationId, actor, reason, data })`,
 * written out in that object's sorted key order (actor, at, clientId, data, fingerprint,
 * keyId, reason, rotationId, seq, type): the same text, without sorting the outer keys per row.
 * Positional, so a verifier can hash a store's row tuple without building a record first.
 */
export function auditFieldsHash(
  prevHash: string,
  seq: number,
  at: number,
  type: string,
  clientId: string | null,
  keyId: string | null,
  fingerprint: string | null,
  rotationId: string | null,
  actor: string | null,
  reason: string | null,
  data: unknown,
): string {
  const members =
    member(',"actor":', actor) +
    member(',"at":', at) +
    member(',"clientId":', clientId) +
    member(',"data":', data) +
    member(',"fingerprint":', fingerprint) +
    member(',"keyId":', keyId) +
    member(',"reason":', reason) +
    member(',"rotationId":', rotationId) +
    member(',"seq":', seq) +
    member(',"type":', type);
  return oneShotHash('sha256', `${prevHash}\n{${members.slice(1)}}`, 'hex');
}

/** The hash of one audit row (see `auditFieldsHash`). */
export function auditRowHash(prevHash: string, seq: number, entry: AuditEntry): string {
  return auditFieldsHash(
    prevHash,
    seq,
    entry.at,
    entry.type,
    entry.clientId,
    entry.keyId,
    entry.fingerprint,
    entry.rotationId,
    entry.actor,
    entry.reason,
    entry.data,
  );
}

/** The hash of a store's row tuple (see `auditFieldsHash`), over the row's own `prevHash`. */
export function auditScanRowHash(row: AuditScanRow): string {
  return auditFieldsHash(row[10], row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9]);
}

/** A record as a row tuple, for stores whose rows are records already. */
export function auditScanRow(r: AuditRecord): AuditScanRow {
  return [r.seq, r.at, r.type, r.clientId, r.keyId, r.fingerprint, r.rotationId, r.actor, r.reason, r.data, r.prevHash, r.hash];
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
