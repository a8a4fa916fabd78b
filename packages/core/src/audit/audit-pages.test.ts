import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../memory-store.js';
import { auditPages, auditScanPages } from './audit-pages.js';

const T0 = Date.UTC(2026, 0, 1);

async function storeWithRows(count: number): Promise<MemoryStore> {
  const store = new MemoryStore();
  const entry = (i: number) => ({
    at: T0 + i,
    type: 'key.used',
    clientId: 'acme',
    keyId: null,
    fingerprint: null,
    rotationId: null,
    actor: null,
    reason: null,
    data: { i },
  });
  await store.commit({ at: T0, audit: Array.from({ length: count }, (_, i) => entry(i)) });
  return store;
}

async function seqsOf<Row>(pages: AsyncIterable<readonly Row[]>, seqOf: (row: Row) => number): Promise<number[][]> {
  const out: number[][] = [];
  for await (const page of pages) out.push(page.map(seqOf));
  return out;
}

describe('auditScanPages (guesses a page ahead)', () => {
  it('gives the plain keyset pages, also when seqs have gaps (deleted rows) and the guesses miss', async () => {
    const store = await storeWithRows(23);
    for (const seq of [4, 5, 12, 20]) store.tamperAudit(seq, () => null);
    const plain = await seqsOf(auditPages(store, 5), (r) => r.seq);
    expect(await seqsOf(auditScanPages(store, 5), (r) => r[0])).toEqual(plain);
    expect(plain.flat()).toHaveLength(19);
    expect(await seqsOf(auditScanPages(store, 5, 10), (r) => r[0])).toEqual(await seqsOf(auditPages(store, 5, 10), (r) => r.seq));
  });

  it('ends on a short or empty page; a trail of exactly whole pages ends on the empty read', async () => {
    const store = await storeWithRows(10);
    expect(await seqsOf(auditScanPages(store, 5), (r) => r[0])).toEqual([
      [1, 2, 3, 4, 5],
      [6, 7, 8, 9, 10],
    ]);
    expect(await seqsOf(auditScanPages(new MemoryStore(), 5), (r) => r[0])).toEqual([]);
  });

  it('a failed read surfaces when its page is due, and a failed guess nobody awaits goes unreported', async () => {
    const store = await storeWithRows(12);
    const scan = store.scanAuditForVerify.bind(store);
    store.scanAuditForVerify = (afterSeq, limit) =>
      afterSeq >= 5 ? Promise.reject(new Error(`read after ${afterSeq}`)) : scan(afterSeq, limit);
    const pages = auditScanPages(store, 5);
    const first = await pages.next();
    expect(first.done ? [] : first.value.map((r) => r[0])).toEqual([1, 2, 3, 4, 5]);
    await expect(pages.next()).rejects.toThrow('read after 5');
    // The caller stops after one page: the guess in flight fails, quietly.
    const early = auditScanPages(store, 5);
    await early.next();
    await early.return(undefined);
    await new Promise((resolve) => setTimeout(resolve, 10));
  });
});
