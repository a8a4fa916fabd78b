import { createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chainAuditEntry } from '../audit-chain.js';
import { ManualClock } from '../clock.js';
import type { Alert } from '../engine/alert-sinks.js';
import { Scheduler } from '../engine/scheduler.js';
import { createKeyward } from '../keyward.js';
import { MemoryStore } from '../memory-store.js';
import type { AuditEntry, AuditRecord } from '../types.js';
import { type AuditAnchor, anchorSignatureValid, anchorSigningText, parseAnchor, parseAnchorLines, signAnchor } from './anchor.js';
import { verifyAuditStream } from './verify-stream.js';

function entry(i: number, extra = ''): AuditEntry {
  return {
    at: Date.UTC(2026, 0, 1) + i,
    type: 'key.issued',
    clientId: `c${i % 7}`,
    keyId: `k${i}`,
    fingerprint: `fp${i}${extra}`,
    rotationId: null,
    actor: 'test',
    reason: null,
    data: { i },
  };
}

function chain(n: number, from: AuditRecord[] = [], extra = ''): AuditRecord[] {
  const rows = [...from];
  for (let i = rows.length + 1; i <= n; i++) rows.push(chainAuditEntry(rows.at(-1) ?? null, entry(i, extra)));
  return rows;
}

const at = (rows: AuditRecord[], seq: number): AuditAnchor => ({ seq, hash: (rows[seq - 1] as AuditRecord).hash });
const pages = (rows: AuditRecord[], size = 100) => {
  const out: AuditRecord[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
};

describe('verifyAuditStream with anchors', () => {
  const original = chain(3000);

  it('passes an intact trail and counts the anchors that held', async () => {
    expect(await verifyAuditStream(pages(original), [at(original, 1000), at(original, 3000)])).toMatchObject({
      ok: true,
      count: 3000,
      anchorsChecked: 2,
    });
  });

  it('detects a tail cut by 1 row behind an anchor', async () => {
    const report = await verifyAuditStream(pages(original.slice(0, 2999)), [at(original, 3000)]);
    expect(report).toMatchObject({ ok: false, problem: 'truncated', count: 2999, anchor: { seq: 3000 } });
  });

  it('detects a tail cut by 1,000 rows behind an anchor', async () => {
    const report = await verifyAuditStream(pages(original.slice(0, 2000)), [at(original, 1000), at(original, 3000)]);
    expect(report).toMatchObject({ ok: false, problem: 'truncated', count: 2000, anchor: { seq: 3000 } });
  });

  it('detects a full re-chain (every link valid, other content) at the first anchor', async () => {
    const rechained = chain(3000, [], '-forged');
    expect(await verifyAuditStream(pages(rechained), [])).toMatchObject({ ok: true });
    const report = await verifyAuditStream(pages(rechained), [at(original, 1000), at(original, 3000)]);
    expect(report).toMatchObject({ ok: false, problem: 'rechained', brokenAt: 1000, anchor: { seq: 1000 } });
  });

  it('detects a forked head: history kept up to an earlier anchor, rewritten after it', async () => {
    const forked = chain(3200, original.slice(0, 2500), '-fork');
    const report = await verifyAuditStream(pages(forked), [at(original, 1000), at(original, 3000)]);
    expect(report).toMatchObject({ ok: false, problem: 'forked', brokenAt: 3000, anchor: { seq: 3000 }, actualHash: forked[2999]?.hash });
  });

  it('checks signatures with a public key', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const signed = signAnchor({ ...at(original, 3000), at: '2026-01-01T00:00:00.000Z' }, privateKey);
    expect(await verifyAuditStream(pages(original), [signed], publicKey)).toMatchObject({ ok: true, anchorsChecked: 1 });
    const forged = { ...signed, hash: (original[10] as AuditRecord).hash };
    expect(await verifyAuditStream(pages(original), [forged], publicKey)).toMatchObject({ ok: false, problem: 'bad_signature' });
    expect(await verifyAuditStream(pages(original), [at(original, 5)], publicKey)).toMatchObject({ ok: false, problem: 'bad_signature' });
  });
});

describe('anchor signatures (Ed25519, known vectors)', () => {
  // RFC 8032, section 7.1, test 1.
  const rfcKey = () =>
    createPrivateKey({
      key: {
        kty: 'OKP',
        crv: 'Ed25519',
        d: Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex').toString('base64url'),
        x: Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex').toString('base64url'),
      },
      format: 'jwk',
    });

  it('signs the documented text with the RFC 8032 key, deterministically', () => {
    const key = rfcKey();
    expect(sign(null, Buffer.alloc(0), key).toString('hex')).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
    const anchor = { seq: 1200, hash: 'ab'.repeat(32), at: '2026-01-01T00:00:00.000Z' };
    expect(anchorSigningText(anchor)).toBe(`keyward-audit-anchor/v1\n1200\n${'ab'.repeat(32)}\n2026-01-01T00:00:00.000Z`);
    const signed = signAnchor(anchor, key);
    expect(signed.signature).toBe('wADhXmGHo7JOPmK7ruWSDMOVFTtOpc4TmRnbzFoHhzU4YZ9/1PD7fXg+YScFWpY47DLN0e1LVRGqN9H98wtODw==');
    expect(anchorSignatureValid(signed, createPublicKey(key))).toBe(true);
    expect(anchorSignatureValid({ ...signed, at: '2026-01-01T00:00:00.001Z' }, createPublicKey(key))).toBe(false);
  });
});

describe('anchor parsing', () => {
  it('reads <seq>:<hash>, pino lines and webhook bodies, skipping other lines', () => {
    const hash = 'a'.repeat(64);
    const text = [
      `12:${hash}`,
      JSON.stringify({ level: 30, event: 'audit.anchor', anchor: { seq: 13, hash } }),
      JSON.stringify({ level: 30, event: 'scheduler.pass' }),
      JSON.stringify({ type: 'keyward.alert', kind: 'audit.anchor', details: { anchor: { seq: 14, hash } } }),
      '',
    ].join('\n');
    expect(parseAnchorLines(text).map((a) => a.seq)).toEqual([12, 13, 14]);
  });

  it('rejects a malformed anchor naming the value', () => {
    expect(() => parseAnchor('12:xyz', '--anchor')).toThrow(/--anchor.*<seq>:<sha256 hex>.*12:xyz/);
    expect(() => parseAnchorLines('{"event":"audit.anchor","anchor":{"seq":0,"hash":"x"}}', 'f')).toThrow(/f:1\.seq/);
  });
});

describe('scheduler anchors', () => {
  async function setup(
    anchors: ConstructorParameters<typeof Scheduler>[1] extends infer O ? (O extends { anchors?: infer A } ? A : never) : never,
  ) {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const store = new MemoryStore();
    const keyward = createKeyward({ store, clock });
    const lines: Record<string, unknown>[] = [];
    const logger = {
      debug() {},
      info: (o: Record<string, unknown>) => lines.push(o),
      warn() {},
      error: (o: Record<string, unknown>) => lines.push(o),
    };
    const scheduler = new Scheduler(keyward, { logger, anchors });
    return { clock, keyward, scheduler, lines, anchorLines: () => lines.filter((l) => l.event === 'audit.anchor') };
  }

  it('publishes every N rows and every T, to the log, the alert sinks and the file, signed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-anchors-'));
    const file = join(dir, 'anchors.jsonl');
    const sent: Alert[] = [];
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const { clock, keyward, scheduler, anchorLines } = await setup({
      everyRows: 3,
      every: '1h',
      file,
      signingKey: privateKey,
      sinks: [{ name: 'rec', send: async (a) => void sent.push(a) }],
    });
    await scheduler.tick();
    expect(anchorLines()).toHaveLength(0); // empty trail: nothing to anchor
    await keyward.issue('a');
    await scheduler.tick();
    expect(anchorLines()).toHaveLength(1); // first anchor of this process
    await keyward.issue('b');
    await scheduler.tick();
    expect(anchorLines()).toHaveLength(1); // 1 new row < everyRows, < every
    await keyward.issue('c');
    await keyward.issue('d');
    await scheduler.tick();
    expect(anchorLines()).toHaveLength(2); // 3 new rows
    clock.advance(3_600_000);
    await scheduler.tick();
    expect(anchorLines()).toHaveLength(3); // an hour passed
    const fromFile = parseAnchorLines(readFileSync(file, 'utf8'));
    expect(fromFile).toHaveLength(3);
    expect(sent.map((a) => a.kind)).toEqual(['audit.anchor', 'audit.anchor', 'audit.anchor']);
    expect(scheduler.anchors?.lastAnchor).toEqual(fromFile[2]);
    expect(await keyward.verifyAuditChain({ anchors: fromFile, publicKey })).toMatchObject({ ok: true, count: 4, anchorsChecked: 3 });
  });

  it('rejects bad anchor options naming the option', async () => {
    const keyward = createKeyward({ store: new MemoryStore() });
    expect(() => new Scheduler(keyward, { anchors: { everyRows: 0 } })).toThrow(/Scheduler\.anchors\.everyRows/);
    expect(() => new Scheduler(keyward, { anchors: { every: '10ms' } })).toThrow(/Scheduler\.anchors\.every/);
    expect(() => new Scheduler(keyward, { anchors: { signingKey: 'not a pem' } })).toThrow(/Scheduler\.anchors\.signingKey/);
    const { publicKey } = generateKeyPairSync('ed25519');
    expect(() => new Scheduler(keyward, { anchors: { signingKey: publicKey } })).toThrow(/must be a private key/);
    expect(new Scheduler(keyward, { anchors: false }).anchors).toBeUndefined();
    // The caller's objects are never mutated (frozen: a write would throw).
    const options = Object.freeze({ anchors: Object.freeze({ everyRows: 5, sinks: Object.freeze([]) }) });
    expect(new Scheduler(keyward, options).anchors?.config).toMatchObject({ everyRows: 5, everyMs: 3_600_000 });
  });

  it('a new process resumes from the anchor file (reads only new rows) and fails its pass when the trail no longer holds it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-anchors-'));
    const file = join(dir, 'anchors.jsonl');
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const store = new MemoryStore();
    const keyward = createKeyward({ store, clock });
    const errors: Record<string, unknown>[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (o: Record<string, unknown>) => errors.push(o) };
    for (const c of ['a', 'b', 'c']) await keyward.issue(c);
    await new Scheduler(keyward, { logger, anchors: { file } }).tick();
    await keyward.issue('d');
    const reads: (number | undefined)[] = [];
    const listAudit = store.listAudit.bind(store);
    store.listAudit = (q) => {
      reads.push(q.afterSeq);
      return listAudit(q);
    };
    const second = new Scheduler(keyward, { logger, anchors: { file, everyRows: 1 } });
    expect((await second.tick()).ok).toBe(true);
    expect(reads).toEqual([2, 3]); // the anchored row (seq 3), then rows after it: never from row 1
    expect(second.anchors?.lastAnchor?.seq).toBe(4);
    store.listAudit = listAudit;
    // Cut the tail behind the last published anchor (an attacker with the database):
    (store as unknown as { audit: AuditRecord[] }).audit.splice(3);
    const third = new Scheduler(keyward, { logger, anchors: { file } });
    expect((await third.tick()).ok).toBe(false);
    expect(errors.at(-1)).toMatchObject({
      step: 'anchor',
      err: { message: expect.stringContaining('no longer holds the last published anchor 4:') },
    });
  });
});
