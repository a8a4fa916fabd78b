import { appendFile } from 'node:fs/promises';
import { auditRowHash } from '../audit-chain.js';
import type { Clock } from '../clock.js';
import type { Alert } from '../engine/alert-sinks.js';
import type { KeyStore } from '../key-store.js';
import { errorFields, type Logger } from '../logger.js';
import { type AuditAnchor, signAnchor } from './anchor.js';
import { lastAnchorInFile } from './anchor-file.js';
import type { AuditAnchorConfig } from './anchor-options.js';
import { auditPages } from './audit-pages.js';

/**
 * Publishes the audit chain's head (an anchor) as a pino line, to alert sinks and to
 * an append-only file: places the database owner cannot rewrite. Reads only the rows
 * appended since it last looked (keyset pages), checking their links, so it never
 * anchors a broken chain. The scheduler calls `maybePublish()` once per pass.
 */
export class AuditAnchorPublisher {
  private head: { seq: number; hash: string } = { seq: 0, hash: '' };
  private last: AuditAnchor | undefined;
  private lastAtMs: number | undefined;

  constructor(
    private readonly store: Pick<KeyStore, 'listAudit'>,
    private readonly clock: Clock,
    private readonly logger: Logger,
    readonly config: AuditAnchorConfig,
  ) {}

  /** The last anchor this process published, if any. */
  get lastAnchor(): AuditAnchor | undefined {
    return this.last;
  }

  /**
   * Reads rows appended since the known head and returns the new head. Throws when a
   * link is broken. On its first call with an anchor `file`, starts from the file's last
   * anchor instead of row 1, once it checked the trail still holds that row: so a short
   * lived process (`keyward tick`) reads only new rows, and a cut or rewritten trail is
   * reported by the next pass.
   */
  async readHead(): Promise<{ seq: number; hash: string }> {
    if (this.head.seq === 0 && this.last === undefined && this.config.file !== undefined) await this.resumeFrom(this.config.file);
    let { seq, hash } = this.head;
    for await (const page of auditPages(this.store, this.config.pageSize, seq)) {
      for (const row of page) {
        if (row.seq !== seq + 1 || row.prevHash !== hash || auditRowHash(row.prevHash, row.seq, row) !== row.hash) {
          throw new Error(`audit chain broken at row #${row.seq}: no anchor published (run keyward audit --verify)`);
        }
        seq = row.seq;
        hash = row.hash;
      }
    }
    this.head = { seq, hash };
    return this.head;
  }

  private async resumeFrom(file: string): Promise<void> {
    const anchor = await lastAnchorInFile(file);
    if (anchor === undefined) return;
    const [row] = await this.store.listAudit({ afterSeq: anchor.seq - 1, limit: 1 });
    if (row?.seq !== anchor.seq || row.hash !== anchor.hash) {
      throw new Error(
        `the audit trail no longer holds the last published anchor ${anchor.seq}:${anchor.hash} (${file}): ${row?.seq === anchor.seq ? 'the row was re-chained' : 'the tail was cut'}; run keyward audit --verify --anchors ${file}`,
      );
    }
    this.head = { seq: anchor.seq, hash: anchor.hash };
    this.last = anchor;
    const at = anchor.at === undefined ? Number.NaN : Date.parse(anchor.at);
    this.lastAtMs = Number.isFinite(at) ? at : undefined;
  }

  /** Publishes an anchor when `everyRows` rows were appended or `every` passed since the last one. */
  async maybePublish(): Promise<AuditAnchor | undefined> {
    const head = await this.readHead();
    if (head.seq === 0) return undefined;
    const now = this.clock.now();
    const dueByRows = head.seq - (this.last?.seq ?? 0) >= this.config.everyRows;
    const dueByTime = this.lastAtMs === undefined || now - this.lastAtMs >= this.config.everyMs;
    if (!dueByRows && !dueByTime) return undefined;
    return this.publishHead(head, now);
  }

  /** Publishes the current head now (no-op on an empty trail). */
  async publish(): Promise<AuditAnchor | undefined> {
    const head = await this.readHead();
    return head.seq === 0 ? undefined : this.publishHead(head, this.clock.now());
  }

  private async publishHead(head: { seq: number; hash: string }, now: number): Promise<AuditAnchor> {
    const unsigned: AuditAnchor = { seq: head.seq, hash: head.hash, at: new Date(now).toISOString() };
    const anchor = this.config.signingKey ? signAnchor(unsigned, this.config.signingKey) : unsigned;
    this.logger.info({ event: 'audit.anchor', anchor }, `keyward: audit anchor ${anchor.seq}:${anchor.hash}`);
    const { file, sinks } = this.config;
    const sends: Promise<void>[] = sinks.map((sink) =>
      sink
        .send(anchorAlert(anchor, now))
        .catch((error: unknown) =>
          this.logger.error({ sink: sink.name, kind: 'audit.anchor', ...errorFields(error) }, 'keyward: alert sink failed'),
        ),
    );
    if (file !== undefined) {
      sends.push(
        appendFile(file, `${JSON.stringify({ event: 'audit.anchor', anchor })}\n`, { flag: 'a', mode: 0o600 }).catch((error: unknown) =>
          this.logger.error({ file, ...errorFields(error) }, 'keyward: could not append the audit anchor to its file'),
        ),
      );
    }
    await Promise.all(sends);
    this.last = anchor;
    this.lastAtMs = now;
    return anchor;
  }
}

function anchorAlert(anchor: AuditAnchor, at: number): Alert {
  return {
    kind: 'audit.anchor',
    severity: 'info',
    at,
    clientId: null,
    keyId: null,
    fingerprint: null,
    rotationId: null,
    summary: `audit trail head: row #${anchor.seq}`,
    suppressed: 0,
    details: { anchor },
  };
}
