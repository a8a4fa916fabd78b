import { hash as oneShotHash } from 'node:crypto';
import type { AuditEntry, AuditRecord } from './types.js';

/** JSON with object keys sorted at every depth, so equal entries hash equally in every store. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.keys(value as Record<string, unknown>)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

/** The hash of one audit row: SHA-256 over the previous row's hash, the row's seq and its entry. */
export function auditRowHash(prevHash: string, seq: number, entry: AuditEntry): string {
  const body = canonicalJson({
    seq,
    at: entry.at,
    type: entry.type,
    clientId: entry.clientId,
    keyId: entry.keyId,
    fingerprint: entry.fingerprint,
    rotationId: entry.rotationId,
    actor: entry.actor,
    reason: entry.reason,
    data: entry.data,
  });
  return oneShotHash('sha256', `${prevHash}\n${body}`, 'hex');
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
