import { auditScanRow } from '../audit-chain.js';
import type { AuditScanRow, KeyStore } from '../key-store.js';
import type { AuditRecord } from '../types.js';

/**
 * Default rows per keyset page when streaming the audit table. 2000, not more: a page is
 * alive while it is hashed, and past a few MB of live rows V8's young-generation GC copies
 * and promotes it (verifying 1M rows on PostgreSQL took ~25% less CPU with pages of 2000
 * than with 5000); fewer rows per page would add round trips.
 */
export const AUDIT_PAGE_SIZE = 2000;

/** Marks a read as handled (it may fail while nobody awaits it yet); awaiting it later still throws. */
function settledQuietly<T>(read: Promise<T>): Promise<T> {
  read.catch(() => undefined);
  return read;
}

/**
 * Keyset pages (`seq > last ORDER BY seq LIMIT n`) from `afterSeq` on: memory stays a few
 * pages, whatever the table's size. The next page is requested as soon as a page arrives,
 * so the store reads it while the caller works on the current one.
 *
 * With `guessAhead`, the page after that is requested too. `seq` has no gaps in an intact
 * trail, so a full page starting after `s` ends at `s + n` and the page after it is
 * `seq > s + n`: that read starts before the next page arrives (on PostgreSQL, on another
 * connection: the database reads two pages at once). When a page does not end where the
 * guess assumed, the guess is dropped and the true next page read: the pages are the plain
 * keyset's either way. For long walks (a verify); a short tail would waste the guess.
 */
async function* keysetPages<Row>(
  fetch: (afterSeq: number, limit: number) => Promise<Row[]>,
  seqOf: (row: Row) => number,
  pageSize: number,
  afterSeq: number,
  guessAhead: boolean,
): AsyncGenerator<readonly Row[]> {
  // Reads still in flight when the walk ends (the trail ended, or the caller stopped at a
  // broken link) are left to settle: settledQuietly keeps their failures from going unhandled.
  const read = (after: number) => settledQuietly(fetch(after, pageSize));
  let next = read(afterSeq);
  let guessAfter = afterSeq + pageSize;
  let guess = guessAhead ? read(guessAfter) : undefined;
  for (;;) {
    const page: Row[] = await next;
    const last = page[page.length - 1];
    if (page.length < pageSize || last === undefined) {
      if (page.length > 0) yield page;
      return;
    }
    const lastSeq = seqOf(last);
    next = guess !== undefined && lastSeq === guessAfter ? guess : read(lastSeq);
    guessAfter = lastSeq + pageSize;
    guess = guessAhead ? read(guessAfter) : undefined;
    yield page;
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
    false,
  );
}

/**
 * The same pages as scan rows, for the chain verifier (a walk over the whole trail, so it
 * guesses a page ahead): read with the store's `scanAuditForVerify` (its cheapest read),
 * or with `listAudit` for a store without one.
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
  return keysetPages(scan, (row) => row[0], pageSize, afterSeq, true);
}
