// Anchors against the real durable stores: the scheduler publishes the chain's head to
// an append-only file; an attacker with database access then cuts the tail, re-chains
// the whole trail or forks its head. The chain alone still verifies each time; the
// published anchors do not, and the report names the anchor that failed.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AuditAnchor,
  type AuditEntry,
  type AuditRecord,
  auditPages,
  auditRowHash,
  createKeyward,
  type KeyStore,
  type Keyward,
  ManualClock,
  parseAnchorLines,
  Scheduler,
  SIGNATURE_HEADER,
  verifyWebhookSignature,
  webhookAlertSink,
} from '@keyward/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Attacker, type Backend, postgresBackend, sqliteBackend, type Target } from './attackers.js';

const T0 = Date.UTC(2026, 0, 1);

/** Appends `n` audit rows through the store's own chaining (one transaction per 500). */
async function append(store: KeyStore, clock: ManualClock, n: number, tag: string): Promise<void> {
  for (let done = 0; done < n; ) {
    const size = Math.min(500, n - done);
    const audit: AuditEntry[] = Array.from({ length: size }, (_, i) => ({
      at: clock.now(),
      type: 'key.used_after_grace',
      clientId: `client-${(done + i) % 13}`,
      keyId: `key-${done + i}`,
      fingerprint: `fp${done + i}`,
      rotationId: null,
      actor: tag,
      reason: null,
      data: { n: done + i },
    }));
    await store.commit({ audit, at: clock.now() });
    done += size;
    clock.advance(1000);
  }
}

async function allRows(store: KeyStore): Promise<AuditRecord[]> {
  const rows: AuditRecord[] = [];
  for await (const page of auditPages(store, 1000)) rows.push(...page);
  return rows;
}

describe.each([sqliteBackend, postgresBackend])('audit anchors: $name', (backend: Backend) => {
  const open: Target[] = [];
  const dirs: string[] = [];

  afterEach(async () => {
    for (const target of open.splice(0)) await target.cleanup();
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });
  afterAll(async () => {
    expect(await backend.leftovers()).toEqual([]);
  });

  /** 1,100 rows with anchors published by the scheduler at rows 500 and 1100, then an attacker without the triggers. */
  async function anchoredTrail(): Promise<{
    keyward: Keyward;
    store: KeyStore;
    clock: ManualClock;
    anchors: AuditAnchor[];
    attacker: Attacker;
  }> {
    const target = await backend.open();
    open.push(target);
    const dir = await mkdtemp(join(tmpdir(), 'keyward-anchors-'));
    dirs.push(dir);
    const file = join(dir, 'anchors.jsonl');
    const clock = new ManualClock(T0);
    const keyward = createKeyward({ store: target.store, clock });
    const scheduler = new Scheduler(keyward, { anchors: { everyRows: 500, every: '1d', file } });
    await append(target.store, clock, 500, 'app');
    expect((await scheduler.tick()).ok).toBe(true);
    await append(target.store, clock, 600, 'app');
    expect((await scheduler.tick()).ok).toBe(true);
    const anchors = parseAnchorLines(await readFile(file, 'utf8'), file);
    expect(anchors.map((a) => a.seq)).toEqual([500, 1100]);
    expect(await keyward.verifyAuditChain({ anchors })).toMatchObject({ ok: true, count: 1100, anchorsChecked: 2 });
    const attacker = await target.attack();
    await attacker.removeProtection();
    return { keyward, store: target.store, clock, anchors, attacker };
  }

  it('a tail cut by 1 row verifies alone but fails the head anchor', async () => {
    const { keyward, anchors, attacker } = await anchoredTrail();
    await attacker.deleteAfter(1099);
    expect(await keyward.verifyAuditChain()).toMatchObject({ ok: true, count: 1099 });
    expect(await keyward.verifyAuditChain({ anchors })).toMatchObject({
      ok: false,
      problem: 'truncated',
      count: 1099,
      anchor: { seq: 1100, hash: anchors[1]?.hash },
    });
  });

  it('a tail cut by 1,000 rows fails the first anchor behind the cut', async () => {
    const { keyward, anchors, attacker } = await anchoredTrail();
    await attacker.deleteAfter(100);
    expect(await keyward.verifyAuditChain()).toMatchObject({ ok: true, count: 100 });
    expect(await keyward.verifyAuditChain({ anchors, pageSize: 64 })).toMatchObject({
      ok: false,
      problem: 'truncated',
      count: 100,
      anchor: { seq: 500 },
    });
  });

  it('a full re-chain (first row edited, every hash rewritten) fails the first anchor', async () => {
    const { keyward, store, anchors, attacker } = await anchoredTrail();
    const rows = await allRows(store);
    await attacker.setColumn(1, 'actor', 'nobody');
    let prevHash = '';
    for (const row of rows) {
      const content = row.seq === 1 ? { ...row, actor: 'nobody' } : row;
      const hash = auditRowHash(prevHash, row.seq, content);
      await attacker.setHashes(row.seq, prevHash, hash);
      prevHash = hash;
    }
    expect(await keyward.verifyAuditChain()).toMatchObject({ ok: true, count: 1100 });
    expect(await keyward.verifyAuditChain({ anchors })).toMatchObject({
      ok: false,
      problem: 'rechained',
      brokenAt: 500,
      anchor: { seq: 500 },
    });
  }, 60_000);

  it('a forked head (tail deleted, other rows appended) fails the head anchor after the earlier one held', async () => {
    const { keyward, store, clock, anchors, attacker } = await anchoredTrail();
    await attacker.deleteAfter(800);
    await append(store, clock, 400, 'mallory');
    expect(await keyward.verifyAuditChain()).toMatchObject({ ok: true, count: 1200 });
    const report = await keyward.verifyAuditChain({ anchors });
    expect(report).toMatchObject({ ok: false, problem: 'forked', brokenAt: 1100, anchor: { seq: 1100, hash: anchors[1]?.hash } });
    expect(!report.ok && 'actualHash' in report && report.actualHash).not.toBe(anchors[1]?.hash);
  });
});

describe('audit anchors to the signed webhook alert sink', () => {
  it('a real HTTP receiver gets each anchor signed (HMAC) and, with a signing key, Ed25519-signed; saved bodies verify the trail', async () => {
    const secret = 'anchor-webhook-secret-0123456789';
    const received: { body: string; signature: string | undefined }[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ body: Buffer.concat(chunks).toString('utf8'), signature: req.headers[SIGNATURE_HEADER.toLowerCase()] as string });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/anchors`;
    const { generateKeyPairSync } = await import('node:crypto');
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const target = await sqliteBackend.open();
    try {
      const clock = new ManualClock(T0);
      const keyward = createKeyward({ store: target.store, clock });
      const scheduler = new Scheduler(keyward, {
        anchors: { everyRows: 10, sinks: [webhookAlertSink({ url, secret })], signingKey: privateKey },
      });
      await append(target.store, clock, 25, 'app');
      await scheduler.tick();
      await append(target.store, clock, 10, 'app');
      await scheduler.tick();
      expect(received).toHaveLength(2);
      for (const { body, signature } of received) expect(verifyWebhookSignature({ payload: body, header: signature, secret })).toBe(true);
      const anchors = parseAnchorLines(received.map((r) => r.body).join('\n'));
      expect(anchors.map((a) => a.seq)).toEqual([25, 35]);
      expect(await keyward.verifyAuditChain({ anchors, publicKey })).toMatchObject({ ok: true, count: 35, anchorsChecked: 2 });
    } finally {
      await target.cleanup();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
