// One whole lifecycle on SqliteStore with every channel captured: pino lines (audit
// logger, alerting, scheduler, sinks, the core), every keyward and scheduler event,
// the durable audit rows, every table dumped raw (and the database files' bytes),
// error messages of bad operations, verify results, and what the Express adapter
// answers. No plaintext key, nor its random body, may appear in any of it.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AlertKind,
  auditLogger,
  createAlerting,
  createKeyward,
  FileSink,
  generateKey,
  type KeyDelivery,
  type KeywardEventName,
  type LiveKey,
  loggerAlertSink,
  ManualClock,
  Scheduler,
  type SharedKeyCache,
  WebhookSink,
} from '@keyward/core';
import { apiKeyAuth } from '@keyward/express';
import { SqliteStore } from '@keyward/sqlite';
import Database from 'better-sqlite3';
import express from 'express';
import { pino } from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Capture, keywardEventNames } from './capture.js';
import { type EchoReceiver, startEchoReceiver } from './echo-receiver.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 0, 1);
const ALL_ALERT_KINDS: AlertKind[] = [
  'rotation.failed',
  'delivery.failed',
  'key.rejected.revoked',
  'key.rejected.inactive',
  'key.rejected.expired',
  'key.orphaned',
  'key.expiring',
  'key.used_in_grace',
  'key.revoked',
  'rotation.switched',
  'key.used_after_switch',
  'key.leaked',
];

describe('a whole lifecycle leaves no plaintext key in logs, events, audit rows, tables or errors (SQLite)', () => {
  let dir: string;
  let receiver: EchoReceiver;
  const capture = new Capture();
  /** plaintext -> fingerprint, for every key the lifecycle handed out. */
  const plaintexts = new Map<string, string>();
  /** Closes what the test opened, also when it fails half-way (each close is idempotent). */
  const closers: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyward-noplain-'));
    // A naive receiver: fails hook-retry's first delivery with a 500, refuses hook-bad's with a 400,
    // and echoes the request body (which holds the key) in its error responses.
    let retried = false;
    receiver = await startEchoReceiver((body) => {
      if (body.includes('"hook-bad"')) return 400;
      if (body.includes('"hook-retry"') && !retried) {
        retried = true;
        return 500;
      }
      return 200;
    });
  });
  afterAll(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await receiver.close();
    await rm(dir, { recursive: true, force: true });
    expect(existsSync(dir)).toBe(false);
  });

  it('no channel carries a key; every channel carries the fingerprints', async () => {
    const path = join(dir, 'keyward.db');
    const logger = pino({ level: 'trace' }, { write: (line: string) => void capture.add('pino', line) });
    const store = new SqliteStore({ path, logger });
    const clock = new ManualClock(T0);
    // A shared cache that goes down for one revoke: the change stands and `change.not_shared` is raised.
    const entries = new Map<string, LiveKey>();
    let cacheDown = false;
    const cache: SharedKeyCache = {
      get: async (hash) => entries.get(hash) ?? null,
      fill: async (key) => {
        if ((entries.get(key.keyHash)?.version ?? 0) < key.version) entries.set(key.keyHash, key);
      },
      write: async (key) => {
        if (cacheDown) throw new Error('connect ECONNREFUSED 127.0.0.1:6390');
        entries.set(key.keyHash, key);
      },
    };
    const keyward = createKeyward({ store, clock, logger, retention: '10d', cache });
    closers.push(
      () => store.close(),
      () => keyward.close(),
    );
    const remember = (key: string | undefined, fingerprint: string) => {
      if (key !== undefined) plaintexts.set(key, fingerprint);
    };
    const rememberDeliveries = () => {
      for (const body of receiver.bodies) {
        const delivery = JSON.parse(body) as { key: string; fingerprint: string };
        remember(delivery.key, delivery.fingerprint);
      }
    };

    // Every event of the core, by the names in events.ts.
    const eventNames = keywardEventNames() as KeywardEventName[];
    expect(eventNames.length).toBeGreaterThanOrEqual(12);
    expect(eventNames).toEqual(expect.arrayContaining(['key.issued', 'key.rotated', 'key.rejected', 'rotation.failed', 'key.orphaned']));
    const seen = new Set<string>();
    for (const name of eventNames) {
      keyward.on(name, (e) => {
        seen.add(name);
        capture.add('events', { name, e });
      });
    }

    const files = new FileSink({ dir: join(dir, 'keys') });
    const fileSink = {
      name: files.name,
      deliver: async (d: KeyDelivery) => {
        remember(d.key, d.fingerprint);
        await files.deliver(d);
      },
    };
    const webhook = new WebhookSink({ url: receiver.url, secret: 'whsec_no_plaintext_test_01', logger, sleep: async () => {} });
    // A fixed grace: these passes finalize on the clock (grace from first use has its own tests).
    const fileScheduler = new Scheduler(keyward, { sink: fileSink, logger, graceFrom: 'rotation' });
    const hookScheduler = new Scheduler(keyward, { sink: webhook, logger, graceFrom: 'rotation' });
    for (const [label, scheduler] of [
      ['file', fileScheduler],
      ['webhook', hookScheduler],
    ] as const) {
      for (const name of ['pass', 'delivered', 'deliveryFailed'] as const) {
        scheduler.on(name, (e) => capture.add('scheduler events', { label, name, e }));
      }
    }
    const audit = auditLogger(keyward, logger, { durableUsage: { window: '1m', flushInterval: '1h' } });
    const alerting = createAlerting(keyward, {
      sinks: [loggerAlertSink(logger)],
      scheduler: hookScheduler,
      rateLimit: false,
      kinds: ALL_ALERT_KINDS,
    });

    const app = express();
    app.use(apiKeyAuth({ keyward, limiter: false }));
    app.get('/whoami', (req, res) => void res.json({ apiKey: req.apiKey }));
    const call = async (label: string, headers: Record<string, string>, url = '/whoami') => {
      const res = await request(app).get(url).set(headers);
      capture.add('http', { label, status: res.status, headers: res.headers, body: res.text });
      return res;
    };
    const attempt = async (label: string, op: () => Promise<unknown>) => {
      try {
        await op();
      } catch (error) {
        capture.addError('errors', error);
        return error;
      }
      throw new Error(`${label} should have failed`);
    };

    // Day 0: issue.
    const issued = new Map<string, { key: string; id: string; fingerprint: string }>();
    for (const [clientId, ttl] of [
      ['alpha', '30d'],
      ['beta', '30d'],
      ['gamma', '30d'],
      ['delta', '30d'],
      ['file-1', '5d'],
      ['file-2', '5d'],
      ['hook-ok', '12d'],
      ['hook-retry', '12d'],
      ['hook-bad', '12d'],
    ] as const) {
      const key = await keyward.issue(clientId, { ttl, actor: 'ops@acme', scopes: ['orders:read'] });
      remember(key.key, key.fingerprint);
      issued.set(clientId, key);
    }
    const alpha = issued.get('alpha')!;
    const beta = issued.get('beta')!;
    const gamma = issued.get('gamma')!;

    // The Express adapter, with valid, rotated, revoked, mangled and unknown keys.
    expect((await call('bearer', { authorization: `Bearer ${alpha.key}` })).status).toBe(200);
    expect((await call('x-api-key', { 'x-api-key': alpha.key })).status).toBe(200);
    const betaNew = await keyward.rotate('beta', { actor: 'ops@acme', reason: 'quarterly' });
    remember(betaNew.key, betaNew.fingerprint);
    expect((await call('old key in grace', { 'x-api-key': beta.key })).headers.sunset).toBeDefined();
    expect((await call('new key', { 'x-api-key': betaNew.key as string })).status).toBe(200);
    await keyward.firstUsesRecorded(); // the rotation switched: a later use of the old key is reported
    expect((await call('old key after the switch', { 'x-api-key': beta.key })).status).toBe(200);
    await keyward.finalize(betaNew.rotationId, { actor: 'ops@acme' });
    expect((await call('old key after finalize', { 'x-api-key': beta.key })).status).toBe(401);
    cacheDown = true;
    await keyward.revoke(gamma.id, { reason: 'leaked', actor: 'security@acme' });
    cacheDown = false;
    // The key also sits in the query string: the adapter's path (and the alert built from it) must drop it.
    expect((await call('revoked key', { authorization: `Bearer ${gamma.key}` }, `/whoami?api_key=${gamma.key}`)).status).toBe(401);
    const flipped = `${alpha.key.slice(0, -1)}${alpha.key.endsWith('A') ? 'B' : 'A'}`;
    expect((await call('bad checksum', { 'x-api-key': flipped })).status).toBe(401);
    expect((await call('two keys', { authorization: `Bearer ${alpha.key}`, 'x-api-key': beta.key })).status).toBe(400);
    expect((await call('wrong prefix', { 'x-api-key': alpha.key.replace('sk_live', 'sk_test') })).status).toBe(401);
    const stranger = generateKey('sk_live');
    expect((await call('unknown key', { 'x-api-key': stranger })).status).toBe(401);
    for (const presented of [flipped, ` ${alpha.key} `, `${alpha.key}x`, 'garbage', '', stranger, gamma.key, beta.key]) {
      capture.add('verify results', await keyward.verify(presented, { method: 'GET', path: '/direct', ip: '10.0.0.1' }));
    }

    // Bad operations: their errors are captured whole (message, details, stack).
    const delta = issued.get('delta')!;
    const deltaRotation = await keyward.startRotation('delta', { actor: 'ops@acme' });
    remember(deltaRotation.key, deltaRotation.fingerprint);
    await attempt('second rotation', () => keyward.rotate('delta'));
    await keyward.abort(deltaRotation.rotationId, { reason: 'changed my mind', actor: 'ops@acme' });
    await attempt('revoke twice', () => keyward.revoke(gamma.id, { reason: 'again' }));
    await attempt('rotate unknown client', () => keyward.rotate('no-such-client'));
    await attempt('rotate unknown key', () => keyward.rotate('alpha', { keyId: 'no-such-key' }));
    await attempt('rotate a revoked key', () => keyward.rotate('gamma', { keyId: gamma.id }));
    await attempt('finalize unknown', () => keyward.finalize('no-such-rotation'));
    await attempt('deliver a finished rotation', () => keyward.markDelivered(betaNew.rotationId));
    await attempt('abort a finished rotation', () => keyward.abort(deltaRotation.rotationId));
    await attempt('revoke without reason', () => keyward.revoke(delta.id, { reason: '' }));
    await attempt('issue to no one', () => keyward.issue(''));
    const epsilon = await keyward.issue('epsilon', { actor: 'ops@acme' });
    remember(epsilon.key, epsilon.fingerprint);
    await keyward.revoke(epsilon.id, { reason: 'wrong client', actor: 'ops@acme' });
    await keyward.unrevoke(epsilon.id, { reason: 'revoked the wrong client', actor: 'ops@acme' });
    await attempt('unrevoke a leaked key', () => keyward.unrevoke(gamma.id, { reason: 'oops' }));
    const zeta = await keyward.issue('zeta', { actor: 'ops@acme' });
    remember(zeta.key, zeta.fingerprint);
    capture.add(
      'leak report',
      await keyward.reportLeak([zeta.key, generateKey('sk_live'), 'not-a-key'], { source: 'https://example.invalid/paste' }),
    );
    await attempt('leak report without a source', () => keyward.reportLeak([zeta.key], { source: '' }));

    // Scheduler passes: file sink first, then the webhook (retry, refusal), then finalize / purge / orphans.
    clock.advance(HOUR);
    const first = await fileScheduler.tick();
    expect(first).toMatchObject({ rotated: 2, delivered: 2, failed: 0 });
    clock.advance(6 * DAY);
    const second = await hookScheduler.tick();
    // hook-ok, hook-retry (after one 500) delivered, hook-bad refused; file-1 and file-2 finalized.
    expect(second).toMatchObject({ rotated: 3, delivered: 2, finalized: 2 });
    rememberDeliveries();
    clock.advance(14 * DAY);
    const third = await hookScheduler.tick();
    expect(third.purged).toBeGreaterThanOrEqual(4);
    expect(third.orphans).toBeGreaterThanOrEqual(1);
    rememberDeliveries();
    // Without a sink a scheduler does not rotate: it raises key.expiring (hook-bad's key is past expiry by now).
    const fourth = await new Scheduler(keyward, { logger }).tick();
    expect(fourth.expiring).toBeGreaterThanOrEqual(1);
    for (const report of [first, second, third, fourth]) capture.add('pass reports', report);
    expect((await call('file-delivered key', { 'x-api-key': [...plaintexts.keys()].at(-1) as string })).status).toBeLessThan(500);

    await audit.close();
    await alerting.close();
    const auditRows = await store.listAudit({});
    capture.add('audit rows', auditRows);
    // Old-key and revoked-key uses reached the durable table too (batched by the audit logger).
    expect(auditRows.map((r) => r.type)).toEqual(expect.arrayContaining(['key.used_in_grace', 'key.rejected', 'key.purged']));
    expect(await keyward.verifyAuditChain()).toMatchObject({ ok: true });
    await keyward.close();
    await store.close();

    // Every table, raw, and the database files' bytes.
    const db = new Database(path, { readonly: true });
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['keys', 'rotations', 'audit_events', 'key_changes']));
    for (const { name } of tables) capture.add(`table ${name}`, db.prepare(`SELECT * FROM "${name.replaceAll('"', '""')}"`).all());
    db.close();
    for (const file of await readdir(dir)) {
      if (file.startsWith('keyward.db')) capture.add(`file ${file}`, (await readFile(join(dir, file))).toString('latin1'));
    }

    // Sanity: the search can find what it looks for, and the lifecycle reached every channel.
    expect(plaintexts.size).toBeGreaterThanOrEqual(16);
    const keyFiles = await readdir(join(dir, 'keys'));
    expect(keyFiles.sort()).toEqual(['file-1.key', 'file-2.key']);
    const inFiles = await Promise.all(keyFiles.map((f) => readFile(join(dir, 'keys', f), 'utf8')));
    for (const text of inFiles) expect(plaintexts.has(text.trim())).toBe(true);
    const bodies = new Capture();
    for (const body of receiver.bodies) bodies.add('webhook bodies', body);
    expect(bodies.leaks(plaintexts).length).toBeGreaterThanOrEqual(4); // the delivery itself does carry keys
    expect(receiver.bodies.length).toBeGreaterThanOrEqual(5);
    expect([...seen].sort()).toEqual([...eventNames].sort()); // the lifecycle raised every event there is
    const pinoText = capture.text('pino');
    for (const fingerprint of new Set(plaintexts.values())) {
      expect(pinoText, `pino lines name ${fingerprint}`).toContain(fingerprint);
      expect(capture.text('table audit_events'), `audit rows name ${fingerprint}`).toContain(fingerprint);
    }
    expect(pinoText).toContain('"alert":true');
    expect(pinoText).toContain('"audit":true');
    expect(pinoText).toContain('failed; retrying'); // the webhook sink's own log line
    expect(capture.text('errors')).toContain('KEYWARD_ILLEGAL_TRANSITION');
    expect(capture.text('http')).toContain('api_key_revoked');

    expect(capture.leaks(plaintexts)).toEqual([]);
  });
});
