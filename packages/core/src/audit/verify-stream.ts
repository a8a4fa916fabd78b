import type { KeyObject } from 'node:crypto';
import { auditRowHash, auditScanRowHash } from '../audit-chain.js';
import type { AuditScanRow } from '../key-store.js';
import type { AuditRecord } from '../types.js';
import { type AuditAnchor, anchorSignatureValid } from './anchor.js';
import { AuditChainWalk } from './chain-walk.js';

/**
 * What an anchor check found:
 * - `truncated`: the chain ends before the anchor's row (its tail was cut off);
 * - `rechained`: the row at the anchor has another hash and no earlier anchor held
 *   (the trail was rewritten and re-chained from before the first anchor);
 * - `forked`: an earlier anchor held, this one does not (history was rewritten after
 *   a point the earlier anchor vouches for: a forked head).
 */
export type AnchorProblem = 'truncated' | 'rechained' | 'forked';

export type AuditVerifyReport =
  | { ok: true; count: number; lastHash: string /** Present when anchors were given. */; anchorsChecked?: number }
  | { ok: false; count: number; brokenAt: number; problem: 'edited' | 'missing_or_reordered' }
  | { ok: false; count: number; brokenAt: number; problem: AnchorProblem; anchor: AuditAnchor; actualHash: string | null }
  | { ok: false; count: 0; brokenAt: number; problem: 'bad_signature'; anchor: AuditAnchor };

/** With `publicKey`, the first anchor whose Ed25519 signature does not verify, as a report. */
function forgedAnchor(anchors: readonly AuditAnchor[], publicKey: KeyObject | undefined): AuditVerifyReport | undefined {
  if (publicKey === undefined) return undefined;
  const forged = anchors.find((a) => !anchorSignatureValid(a, publicKey));
  return forged === undefined ? undefined : { ok: false, count: 0, brokenAt: forged.seq, problem: 'bad_signature', anchor: forged };
}

/**
 * Walks pages of rows in `seq` order from seq 1 (a store's keyset pages, see
 * `auditPages`), checks each link like `verifyAuditRows`, and checks every anchor
 * against the row at its `seq`. Holds one page at a time; reports the first problem.
 * With `publicKey`, every anchor must carry a valid Ed25519 signature first.
 */
export async function verifyAuditStream(
  pages: AsyncIterable<readonly AuditRecord[]> | Iterable<readonly AuditRecord[]>,
  anchors: readonly AuditAnchor[] = [],
  publicKey?: KeyObject,
): Promise<AuditVerifyReport> {
  const forged = forgedAnchor(anchors, publicKey);
  if (forged !== undefined) return forged;
  const walk = new AuditChainWalk(anchors);
  for await (const page of pages) {
    for (const row of page) {
      const broken = walk.step(row.seq, row.prevHash, row.hash, auditRowHash(row.prevHash, row.seq, row));
      if (broken !== undefined) return broken;
    }
  }
  return walk.end();
}

/**
 * `verifyAuditStream` over pages of row tuples (`auditScanPages`: a store's
 * `scanAuditForVerify`), which hash without a record built per row.
 */
export async function verifyAuditScan(
  pages: AsyncIterable<readonly AuditScanRow[]> | Iterable<readonly AuditScanRow[]>,
  anchors: readonly AuditAnchor[] = [],
  publicKey?: KeyObject,
): Promise<AuditVerifyReport> {
  const forged = forgedAnchor(anchors, publicKey);
  if (forged !== undefined) return forged;
  const walk = new AuditChainWalk(anchors);
  for await (const page of pages) {
    for (const row of page) {
      const broken = walk.step(row[0], row[4], row[5], auditScanRowHash(row));
      if (broken !== undefined) return broken;
    }
  }
  return walk.end();
}

/** One sentence for a failed report (CLI, logs). */
export function describeAuditProblem(report: Exclude<AuditVerifyReport, { ok: true }>): string {
  switch (report.problem) {
    case 'edited':
      return `audit chain broken at row #${report.brokenAt}: the row was edited (${report.count} rows intact before it)`;
    case 'missing_or_reordered':
      return `audit chain broken at row #${report.brokenAt}: a row before it was deleted, inserted or reordered (${report.count} rows intact before it)`;
    case 'truncated':
      return `anchor ${report.anchor.seq}:${report.anchor.hash} failed: the trail ends at row #${report.count}, before the anchored row (its tail was cut off)`;
    case 'rechained':
      return `anchor ${report.anchor.seq}:${report.anchor.hash} failed: row #${report.brokenAt} now hashes to ${report.actualHash} (the trail was re-chained)`;
    case 'bad_signature':
      return `anchor ${report.anchor.seq}:${report.anchor.hash} failed: its signature is missing or does not verify with the public key`;
    case 'forked':
      return `anchor ${report.anchor.seq}:${report.anchor.hash} failed: row #${report.brokenAt} now hashes to ${report.actualHash}, after earlier anchors held (a forked head)`;
  }
}
