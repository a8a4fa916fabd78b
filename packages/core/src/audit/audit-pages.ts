import type { KeyStore } from '../key-store.js';
import type { AuditRecord } from '../types.js';

/** Default rows per keyset page when streaming the audit table. */
export const AUDIT_PAGE_SIZE = 5000;

/**
 * The audit rows with `seq > afterSeq`, in `seq` order, as keyset pages of `pageSize`
 * (`seq > last ORDER BY seq LIMIT n`): memory stays one page, whatever the table's size.
 */
export async function* auditPages(
  store: Pick<KeyStore, 'listAudit'>,
  pageSize = AUDIT_PAGE_SIZE,
  afterSeq = 0,
): AsyncGenerator<readonly AuditRecord[]> {
  let last = afterSeq;
  for (;;) {
    const page = await store.listAudit({ afterSeq: last, limit: pageSize });
    if (page.length > 0) yield page;
    if (page.length < pageSize) return;
    last = page[page.length - 1]?.seq ?? last;
  }
}
