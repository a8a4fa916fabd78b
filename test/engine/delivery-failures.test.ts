import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Alert,
  createAlerting,
  createKeyward,
  type KeywardEvents,
  ManualClock,
  Scheduler,
  verifyWebhookSignature,
  WebhookSink,
  webhookAlertSink,
} from '@keyward/core';
import { SqliteStore } from '@keyward/sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { captureLogger, type Receiver, startReceiver } from './helpers.js';

const DAY = 86_400_000;
const SECRET = 'whsec_engine_test_secret_0001';
let dir: string;
let store: SqliteStore;
const receivers: Receiver[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyward-fail-'));
  store = new SqliteStore({ path: join(dir, 'k.db') });
});
afterEach(async () => {
  await store.close();
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  await rm(dir, { recursive: true, force: true });
});

describe('delivery that keeps failing (real webhook receiver answering 500)', () => {
  it('fails the rotation: pending key revoked, old key still valid, rotation.failed raised, alert sent (signed, rate-limited)', async () => {
    const keyReceiver = await startReceiver(() => 500);
    const alertReceiver = await startReceiver(() => 200);
    receivers.push(keyReceiver, alertReceiver);
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const { lines, logger } = captureLogger();
    const keyward = createKeyward({ store, clock, logger });
    const sleeps: number[] = [];
    const sink = new WebhookSink({ url: keyReceiver.url, secret: SECRET, attempts: 3, logger, sleep: async (ms) => void sleeps.push(ms) });
    // No expiry notices: this test counts the alerts of failed deliveries.
    const scheduler = new Scheduler(keyward, { sink, logger, retryAfter: '1h', expiryNotices: false });
    const alerting = createAlerting(keyward, { sinks: [webhookAlertSink({ url: alertReceiver.url, secret: SECRET })], scheduler });
    const failed: KeywardEvents['rotation.failed'][] = [];
    keyward.on('rotation.failed', (e) => void failed.push(e));

    const issued = await keyward.issue('acme');
    clock.advance(24 * DAY);
    const report = await scheduler.tick();
    expect(report).toMatchObject({ rotated: 1, delivered: 0, failed: 1 });
    expect(keyReceiver.requests).toHaveLength(3);
    expect(sleeps).toHaveLength(2);

    const [rotation] = await store.listRotations({ clientId: 'acme' });
    expect(rotation?.state).toBe('failed');
    expect(rotation?.lastError).toMatch(/delivery via webhook failed: .*HTTP 500/);
    expect((await store.findKeyById(rotation?.newKeyId as string))?.status).toBe('revoked');
    expect(await keyward.verify(issued.key)).toMatchObject({ valid: true, sunset: null });
    expect(failed).toHaveLength(1);
    expect(failed[0]?.rotationId).toBe(rotation?.id);

    // A second failure an hour later: one more alert per kind at most (rate limit window 5m has passed in clock time).
    clock.advance(60 * 60_000);
    await scheduler.tick();
    await alerting.close();
    const alerts = alertReceiver.requests.map((r) => {
      expect(verifyWebhookSignature({ payload: r.body, header: r.headers['x-keyward-signature'], secret: SECRET })).toBe(true);
      return JSON.parse(r.body) as Alert;
    });
    expect(alerts.map((a) => a.kind).sort()).toEqual(['delivery.failed', 'delivery.failed', 'rotation.failed', 'rotation.failed']);
    expect(alerts.every((a) => a.severity === 'critical')).toBe(true);
    const audit = await store.listAudit({});
    expect(audit.filter((a) => a.type === 'rotation.failed')).toHaveLength(2);
    expect((await keyward.verifyAuditChain()).ok).toBe(true);
    // The plaintext of the undelivered key was in the POST body only: never in logs, rows, alerts.
    const newKeys = keyReceiver.requests.map((r) => (JSON.parse(r.body) as { key: string }).key);
    const everything = `${lines.join('\n')}${JSON.stringify(audit)}${JSON.stringify(alerts)}${JSON.stringify(await store.listRotations({}))}`;
    for (const key of [...newKeys, issued.key]) expect(everything).not.toContain(key);
    await keyward.close();
  });
});

describe('no sink configured', () => {
  it('raises key.expiring with daysLeft once per day, rotates nothing, and the key stays valid until its expiry', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const keyward = createKeyward({ store, clock });
    const scheduler = new Scheduler(keyward);
    const expiring: KeywardEvents['key.expiring'][] = [];
    const notices: KeywardEvents['key.expiring'][] = [];
    // The daily reminder (no `notice`) and the once-per-lead-time expiry notices (`notice`).
    keyward.on('key.expiring', (e) => void (e.notice === undefined ? expiring : notices).push(e));
    const issued = await keyward.issue('acme');
    for (let hour = 0; hour <= 30 * 24; hour += 6) {
      clock.set(Date.UTC(2026, 0, 1) + hour * 3_600_000);
      const report = await scheduler.tick();
      expect(report.rotated).toBe(0);
    }
    expect(await store.listRotations({})).toEqual([]);
    expect(expiring.map((e) => e.daysLeft)).toEqual([7, 6, 5, 4, 3, 2, 1, 0]);
    expect(notices.map((e) => e.notice)).toEqual(['14d', '3d', '1d']);
    expect(expiring.every((e) => e.keyId === issued.id && e.expiresAt === issued.expiresAt)).toBe(true);
    expect(await keyward.verify(issued.key)).toMatchObject({ valid: false, reason: 'expired' });
    await keyward.close();
  });
});

describe('a webhook delivery whose outcome a crash left unknown (real receiver)', () => {
  it('stays open with both keys valid and raises an alert; the new key’s first use marks it delivered', async () => {
    const keyReceiver = await startReceiver(() => 200);
    const alertReceiver = await startReceiver(() => 200);
    receivers.push(keyReceiver, alertReceiver);
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const keyward = createKeyward({ store, clock });
    const sink = new WebhookSink({ url: keyReceiver.url, secret: SECRET, attempts: 1 });
    const issued = await keyward.issue('acme');
    clock.advance(24 * DAY);
    // The pass that died: rotation started, key POSTed and accepted, then SIGKILL before it was marked delivered.
    const crashed = await keyward.startRotation('acme');
    const { rotationId, clientId, newKeyId: keyId, fingerprint, graceUntil, expiresAt } = crashed;
    await sink.deliver({ rotationId, clientId, keyId, key: crashed.key as string, fingerprint, graceUntil, expiresAt });
    const received = JSON.parse(keyReceiver.requests[0]?.body ?? '{}').key as string;

    clock.advance(61 * 60_000);
    const scheduler = new Scheduler(keyward, { sink });
    const alerting = createAlerting(keyward, { sinks: [webhookAlertSink({ url: alertReceiver.url, secret: SECRET })], scheduler });
    expect(await scheduler.tick()).toMatchObject({ unconfirmed: 1, recovered: 0, confirmed: 0, failed: 0 });
    expect(keyReceiver.requests).toHaveLength(1); // nothing to re-send: the plaintext died with the process
    expect((await store.findRotation(rotationId))?.state).toBe('started');
    expect(await keyward.verify(issued.key)).toMatchObject({ valid: true });
    expect(await keyward.verify(received)).toMatchObject({ valid: true, status: 'pending' });
    await alerting.close();
    const alerts = alertReceiver.requests.map((r) => JSON.parse(r.body) as Alert);
    expect(alerts).toMatchObject([{ kind: 'key.orphaned', clientId: 'acme', fingerprint, details: { problem: 'delivery_unknown' } }]);

    await keyward.close(); // the receiver's client used its new key: last_used_at written
    expect(await scheduler.tick()).toMatchObject({ confirmed: 1, unconfirmed: 0 });
    expect((await store.findRotation(rotationId))?.state).toBe('delivered');
  });
});
