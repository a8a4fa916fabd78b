import type { KeyStore } from '../key-store.js';
import type { AuditRecord } from '../types.js';

/** Default rows per keyset page when streaming the audit table. */
export const AUDIT_PAGE_SIZE = 5000;

/**
 * The audit rows with `seq > afterSeq`, in `seq` order, as keyset pages of `pageSize`
 * (`seq > last ORDER BY seq LIMIT n`): memory stays two pages, whatever the table's size.
 * The next page is requested as soon as a page arrives, so the database reads it while
 * the caller works on the current one.
 */
export async function* auditPages(
  store: Pick<KeyStore, 'listAudit'>,
  pageSize = AUDIT_PAGE_SIZE,
  afterSeq = 0,
): AsyncGenerator<readonly AuditRecord[]> {
  const fetch = (after: number) => store.listAudit({ afterSeq: after, limit: pageSize });
  let pending: Promise<AuditRecord[]> | undefined = fetch(afterSeq);
  try {
    while (pending !== undefined) {
      const page: AuditRecord[] = await pending;
      const last = page[page.length - 1];
      pending = page.length === pageSize && last !== undefined ? fetch(last.seq) : undefined;
      if (page.length > 0) yield page;
    }
  } finally {
    // The caller stopped early (a broken link): settle the read in flight, quietly.
    pending?.catch(() => undefined);
  }
}
