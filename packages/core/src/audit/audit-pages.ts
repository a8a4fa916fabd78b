import { auditScanRow } from '../audit-chain.js';
import type { AuditScanRow, KeyStore } from '../key-store.js';
import type { AuditRecord } from '../types.js';

/**
 * Default rows per keyset page when streaming the audit table. 2000, not more: a page is
 * alive while it is hashed, and past a few MB of live rows V8's young-generation GC copies
 * and promotes it (verifying 1M rows on PostgreSQL: ~5.2 s of CPU with pages of 2000,
 * ~6.8 s with 5000); fewer rows per page would add round trips.
 */
export const AUDIT_PAGE_SIZE = 2000;

/**
 * Keyset pages (`seq > last ORDER BY seq LIMIT n`) from `afterSeq` on: memory stays two
 * pages, whatever the table's size. The next page is requested as soon as a page
 * arrives, so the database reads it while the caller works on the current one.
 */
async function* keysetPages<Row>(
  fetch: (afterSeq: number, limit: number) => Promise<Row[]>,
  seqOf: (row: Row) => number,
  pageSize: number,
  afterSeq: number,
): AsyncGenerator<readonly Row[]> {
  let pending: Promise<Row[]> | undefined = fetch(afterSeq, pageSize);
  try {
    while (pending !== undefined) {
      const page: Row[] = await pending;
      const last = page[page.length - 1];
      pending = page.length === pageSize && last !== undefined ? fetch(seqOf(last), pageSize) : undefined;
      if (page.length > 0) yield page;
    }
  } finally {
    // The caller stopped early (a broken link): settle the read in flight, quietly.
    pending?.catch(() => undefined);
  }
}

/** The audit rows with `seq > afterSeq`, in `seq` order, as keyset pages of `pageSize` records (`listAudit`). */
export function auditPages(
  store: Pick<KeyStore, 'listAudit'>,
  pageSize = AUDIT_PAGE_SIZE,
  afterSeq = 0,
): AsyncGenerator<readonly AuditRecord[]> {
  return keysetPages(
    (after, limit) => store.listAudit({ afterSeq: after, limit }),
    (row) => row.seq,
    pageSize,
    afterSeq,
  );
}

/**
 * The same pages as row tuples, for the chain verifier: read with the store's
 * `scanAuditForVerify` (its cheapest read), or with `listAudit` for a store without one.
 */
export function auditScanPages(
  store: Pick<KeyStore, 'listAudit' | 'scanAuditForVerify'>,
  pageSize = AUDIT_PAGE_SIZE,
  afterSeq = 0,
): AsyncGenerator<readonly AuditScanRow[]> {
  const scan =
    store.scanAuditForVerify === undefined
      ? async (after: number, limit: number) => (await store.listAudit({ afterSeq: after, limit })).map(auditScanRow)
      : store.scanAuditForVerify.bind(store);
  return keysetPages(scan, (row) => row[0], pageSize, afterSeq);
}
