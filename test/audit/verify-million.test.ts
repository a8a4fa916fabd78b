// A verify of 1,000,000 audit rows streams: on a real SQLite file, keyward.verifyAuditChain
// reads keyset pages (never an unbounded listAudit) and the heap stays far below what the
// table would take as objects (about 0.5 KB a row: ~500 MB), while the anchors still hold.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUDIT_PAGE_SIZE, type AuditQuery, type AuditRecord, chainAuditEntry, createKeyward } from '@keyward/core';
import { SqliteStore } from '@keyward/sqlite';
import Database from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';

const ROWS = 1_000_000;
const T0 = Date.UTC(2026, 0, 1);
let dir = '';

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('verifies 1,000,000 rows in keyset pages with bounded memory, and the anchors hold', async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyward-million-'));
  const path = join(dir, 'audit.db');
  const store = new SqliteStore({ path });
  await store.listAudit({ limit: 1 }); // creates the schema
  // Seed as the file's owner would: the chain computed by the core, inserted in one transaction.
  const db = new Database(path);
  const insert = db.prepare(
    `INSERT INTO audit_events (seq, at, type, client_id, key_id, fingerprint, rotation_id, actor, reason, data, prev_hash, hash)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const anchors: { seq: number; hash: string }[] = [];
  db.transaction(() => {
    let previous: AuditRecord | null = null;
    for (let i = 1; i <= ROWS; i++) {
      const row: AuditRecord = chainAuditEntry(previous, {
        at: T0 + i,
        type: 'key.used_in_grace',
        clientId: `client-${i % 5000}`,
        keyId: `key-${i}`,
        fingerprint: `fp${i}`,
        rotationId: null,
        actor: null,
        reason: null,
        data: { uses: i % 17 },
      });
      insert.run(
        row.seq,
        row.at,
        row.type,
        row.clientId,
        row.keyId,
        row.fingerprint,
        null,
        null,
        null,
        '{"uses":' + (i % 17) + '}',
        row.prevHash,
        row.hash,
      );
      if (i % 250_000 === 0) anchors.push({ seq: row.seq, hash: row.hash });
      previous = row;
    }
  })();
  db.close();

  // The verifier reads with the store's cheap scan (scanAuditForVerify); listAudit must not be used at all.
  const limits: number[] = [];
  let peakHeap = 0;
  const scan = store.scanAuditForVerify.bind(store);
  store.scanAuditForVerify = async (afterSeq: number, limit: number) => {
    limits.push(limit);
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    return scan(afterSeq, limit);
  };
  store.listAudit = async (query: AuditQuery) => {
    throw new Error(`listAudit(${JSON.stringify(query)}) during a verify`);
  };
  global.gc?.();
  const baseline = process.memoryUsage().heapUsed;
  const keyward = createKeyward({ store });
  const report = await keyward.verifyAuditChain({ anchors });
  expect(report).toMatchObject({ ok: true, count: ROWS, anchorsChecked: 4 });
  expect(limits.length).toBeGreaterThanOrEqual(ROWS / AUDIT_PAGE_SIZE);
  expect(limits.every((limit) => limit === AUDIT_PAGE_SIZE)).toBe(true);
  // The whole table as objects would add ~500 MB; two pages of AUDIT_PAGE_SIZE rows add a few MB (plus garbage not yet collected).
  expect((peakHeap - baseline) / 1024 / 1024).toBeLessThan(150);
  await store.close();
}, 300_000);
