import type { AuditAnchor } from './anchor.js';
import type { AuditVerifyReport } from './verify-stream.js';

/**
 * The state of one walk down the audit chain from seq 1: each row must follow the one
 * before (seq + 1, prevHash = its hash) and hash to its `hash`; each anchor must match
 * the row at its `seq`. Rows come in one at a time, whatever shape the caller reads.
 */
export class AuditChainWalk {
  private readonly pending: AuditAnchor[];
  private next = 0;
  private held = 0;
  private prevHash = '';
  private expectedSeq = 1;
  private count = 0;

  constructor(anchors: readonly AuditAnchor[]) {
    this.pending = [...anchors].sort((a, b) => a.seq - b.seq);
  }

  /** Takes the next row (`actualHash`: what its content hashes to); the first problem's report, or undefined while the chain holds. */
  step(seq: number, prevHash: string, hash: string, actualHash: string): AuditVerifyReport | undefined {
    const count = this.count;
    if (seq !== this.expectedSeq || prevHash !== this.prevHash) return { ok: false, count, brokenAt: seq, problem: 'missing_or_reordered' };
    if (actualHash !== hash) return { ok: false, count, brokenAt: seq, problem: 'edited' };
    while (this.next < this.pending.length && (this.pending[this.next] as AuditAnchor).seq === seq) {
      const anchor = this.pending[this.next] as AuditAnchor;
      if (anchor.hash !== hash) {
        return { ok: false, count, brokenAt: seq, problem: this.held > 0 ? 'forked' : 'rechained', anchor, actualHash: hash };
      }
      this.held++;
      this.next++;
    }
    this.count = count + 1;
    this.prevHash = hash;
    this.expectedSeq = seq + 1;
    return undefined;
  }

  /** The report once the rows ran out: an anchor past the last row means the tail was cut. */
  end(): AuditVerifyReport {
    const { count, prevHash, pending } = this;
    const missing = pending[this.next];
    if (missing !== undefined) return { ok: false, count, brokenAt: count + 1, problem: 'truncated', anchor: missing, actualHash: null };
    return pending.length === 0
      ? { ok: true, count, lastHash: prevHash }
      : { ok: true, count, lastHash: prevHash, anchorsChecked: this.held };
  }
}
