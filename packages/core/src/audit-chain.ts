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
 * The hashed text of one audit row: `canonicalJson({ seq, at, type, clientId, keyId,
 * fingerprint, rotationId, actor, reason, data })`, written out in that object's sorted key
 * order (actor, at, clientId, data, fingerprint, keyId, reason, rotationId, seq, type): the
 * same text, without sorting the outer keys per row. Fields left out (undefined) are skipped.
 */
function canonicalBody(seq: number, e: AuditEntry): string {
  const members =
    member(',"actor":', e.actor) +
    member(',"at":', e.at) +
    member(',"clientId":', e.clientId) +
    member(',"data":', e.data) +
    member(',"fingerprint":', e.fingerprint) +
    member(',"keyId":', e.keyId) +
    member(',"reason":', e.reason) +
    member(',"rotationId":', e.rotationId) +
    member(',"seq":', seq) +
    member(',"type":', e.type);
  return `{${members.slice(1)}}`;
}

/** The hash of one audit row: SHA-256 over the previous row's hash, a newline, and the row's canonical text (`canonicalBody`). */
export function auditRowHash(prevHash: string, seq: number, entry: AuditEntry): string {
  return oneShotHash('sha256', `${prevHash}\n${canonicalBody(seq, entry)}`, 'hex');
}

/**
 * A record as a scan row (`AuditScanRow`): its canonical text split around `data`. With
 * every field present, the head is `{"actor":…,"at":…,"clientId":…,"data":` and the tail
 * `,"fingerprint":…,"keyId":…,"reason":…,"rotationId":…,"seq":…,"type":…}` (each value as
 * `canonicalJson` writes it); a store that renders the parts itself (PostgreSQL's scan)
 * follows this layout. With a field missing, the head is the whole text and data undefined.
 */
export function auditScanRow(r: AuditRecord): AuditScanRow {
  const { actor, at, clientId, data, fingerprint, keyId, reason, rotationId, seq, type } = r;
  const present = [actor, at, clientId, data, fingerprint, keyId, reason, rotationId, seq, type].every((v) => v !== undefined);
  if (!present) return [seq, canonicalBody(seq, r), undefined, '', r.prevHash, r.hash];
  const head = `{"actor":${canonicalJson(actor)},"at":${canonicalJson(at)},"clientId":${canonicalJson(clientId)},"data":`;
  const tail = `,"fingerprint":${canonicalJson(fingerprint)},"keyId":${canonicalJson(keyId)},"reason":${canonicalJson(reason)},"rotationId":${canonicalJson(rotationId)},"seq":${canonicalJson(seq)},"type":${canonicalJson(type)}}`;
  return [seq, head, data, tail, r.prevHash, r.hash];
}

/** The hash a scan row's content gives (see `auditRowHash`), over the row's own `prevHash`. */
export function auditScanRowHash(row: AuditScanRow): string {
  const data = row[2] === undefined ? '' : canonicalJson(row[2]);
  return oneShotHash('sha256', `${row[4]}\n${row[1]}${data}${row[3]}`, 'hex');
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
