import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditLogger, createKeyward, FileSink, type Keyward, ManualClock, Scheduler } from '@keyward/core';
import { SqliteStore } from '@keyward/sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLogger } from './helpers.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const CLIENTS = 20;
const START = Date.UTC(2026, 0, 1);

interface Client {
  id: string;
  issueAt: number;
  /** How often (hours) the client looks for a delivered key: old keys get used during grace. */
  pollHours: number;
  current: string | undefined;
  lastPoll: number;
}

interface Retired {
  key: string;
  keyId: string;
  graceUntil: number;
  sawInactive: boolean;
  sawPurged: boolean;
}

describe('90 days of scheduled operation for a fleet (SQLite, FileSink, fake clock, hourly ticks)', () => {
  let dir: string;
  let store: SqliteStore;
  let keyward: Keyward;
  const clock = new ManualClock(START);
  const { lines, logger } = captureLogger();
  const plaintexts = new Set<string>();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyward-sim-'));
    store = new SqliteStore({ path: join(dir, 'keyward.db') });
    keyward = createKeyward({ store, clock, logger });
  });
  afterAll(async () => {
    await keyward.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('every key rotates before expiry, no client is ever without a valid key, retired keys are refused then purged, audit complete', async () => {
    const files = new FileSink({ dir: join(dir, 'keys') });
    // The file sink, plus a note of every plaintext so the test can search logs and rows for it.
    const sink = {
      name: 'file',
      pathFor: (clientId: string) => files.pathFor(clientId),
      deliver: async (delivery: Parameters<FileSink['deliver']>[0]) => {
        plaintexts.add(delivery.key);
        deliveries.push(delivery);
        expiries.set(delivery.keyId, delivery.expiresAt as number);
        await files.deliver(delivery);
      },
    };
    const deliveries: { clientId: string; keyId: string; expiresAt: number | null; graceUntil: number }[] = [];
    const scheduler = new Scheduler(keyward, { sink, logger });
    const audit = auditLogger(keyward, logger, { durableUsage: { window: '6h', flushInterval: '1s' } });
    const clients: Client[] = Array.from({ length: CLIENTS }, (_, i) => ({
      id: `client-${i}/team ${i % 3}`, // slashes and spaces: FileSink must sanitise
      issueAt: START + Math.floor(i * 1.3 * DAY) + (i % 7) * HOUR,
      pollHours: 1 + (i % 5),
      current: undefined,
      lastPoll: 0,
    }));
    const expiries = new Map<string, number>(); // keyId -> expiresAt
    const rotatedAt = new Map<string, number>(); // old keyId -> when its rotation started
    keyward.on('key.issued', (e) => void expiries.set(e.keyId, e.expiresAt as number));
    keyward.on('key.rotated', (e) => void rotatedAt.set(e.oldKeyId, e.at));
    const retired: Retired[] = [];
    const failedEvents: unknown[] = [];
    keyward.on('rotation.failed', (e) => void failedEvents.push(e));
    const orphans: unknown[] = [];
    keyward.on('key.orphaned', (e) => void orphans.push(e));
    const eventLog: string[] = [];
    for (const name of [
      'key.issued',
      'key.rotated',
      'key.finalized',
      'key.revoked',
      'key.purged',
      'key.used_in_grace',
      'key.rejected',
      'rotation.aborted',
      'rotation.failed',
      'key.expiring',
      'key.orphaned',
    ] as const) {
      keyward.on(name, (e: unknown) => void eventLog.push(JSON.stringify({ name, e })));
    }
    for (const name of ['pass', 'delivered', 'deliveryFailed'] as const)
      scheduler.on(name, (e: unknown) => void eventLog.push(JSON.stringify(e)));
    let usedInGrace = 0;
    keyward.on('key.used_in_grace', () => void usedInGrace++);
    let passes = 0;
    let rotated = 0;
    let finalized = 0;
    let purged = 0;

    for (let now = START; now <= START + 90 * DAY; now += HOUR) {
      clock.set(now);
      for (const client of clients) {
        if (client.current === undefined && now >= client.issueAt) {
          const issued = await keyward.issue(client.id, { actor: 'onboarding' });
          plaintexts.add(issued.key);
          client.current = issued.key;
          client.lastPoll = now;
        }
      }
      const report = await scheduler.tick();
      passes += 1;
      expect(report.ok).toBe(true);
      expect(report.failed).toBe(0);
      rotated += report.rotated;
      finalized += report.finalized;
      purged += report.purged;

      for (const client of clients) {
        if (client.current === undefined) continue;
        if (now - client.lastPoll >= client.pollHours * HOUR) {
          client.lastPoll = now;
          const file = await readFile(sink.pathFor(client.id), 'utf8').catch(() => undefined);
          const key = file?.trim();
          if (key && key !== client.current) {
            plaintexts.add(key);
            const old = await keyward.verify(client.current);
            const result = await keyward.verify(key);
            expect(result.valid).toBe(true);
            if (!old.valid) throw new Error(`client ${client.id} held an invalid key before switching`);
            const record = await store.findKeyById(old.keyId);
            expect(record?.graceUntil).toBeTypeOf('number'); // the old key is being rotated out
            retired.push({
              key: client.current,
              keyId: old.keyId,
              graceUntil: record?.graceUntil as number,
              sawInactive: false,
              sawPurged: false,
            });
            client.current = key;
          }
        }
        // The invariant: the key the client holds right now is accepted.
        const check = await keyward.verify(client.current, { method: 'GET', path: '/orders' });
        if (!check.valid) throw new Error(`day ${(now - START) / DAY}: client ${client.id} has no valid key (${check.reason})`);
      }
      for (const old of retired) {
        if (!old.sawInactive && now >= old.graceUntil) {
          expect(await keyward.verify(old.key)).toMatchObject({ valid: false, reason: 'inactive' });
          old.sawInactive = true;
        }
        if (old.sawInactive && !old.sawPurged && (await store.findKeyById(old.keyId)) === null) {
          expect(await keyward.verify(old.key)).toMatchObject({ valid: false, reason: 'unknown' });
          old.sawPurged = true;
        }
      }
      // No key may sit active and unrotated past its expiry.
      const late = (await store.listKeys({ status: ['active'], expiresBefore: now })).filter((k) => k.graceUntil === null);
      expect(late).toEqual([]);
    }
    await audit.close();
    expect(passes).toBe(90 * 24 + 1);

    // Every rotation was delivered through the file sink and started before the old key expired.
    const rotations = await store.listRotations({});
    expect(rotations.length).toBe(rotated);
    // Issued on the hour, rotated exactly rotateBefore (7d) ahead of a 30d expiry: every 23 days.
    const expected = clients.reduce((sum, c) => sum + Math.floor((START + 90 * DAY - c.issueAt) / (23 * DAY)), 0);
    expect(rotated).toBe(expected);
    expect(failedEvents).toEqual([]);
    for (const r of rotations) {
      expect(r.createdAt).toBeLessThan(expiries.get(r.oldKeyId) as number);
      expect(['delivered', 'completed']).toContain(r.state);
    }
    for (const [keyId, expiresAt] of expiries) {
      if (expiresAt <= START + 90 * DAY) expect(rotatedAt.get(keyId), `key ${keyId}`).toBeLessThan(expiresAt);
    }
    expect(finalized).toBe(rotations.filter((r) => r.state === 'completed').length);
    expect(retired.filter((r) => r.sawInactive).length).toBeGreaterThanOrEqual(CLIENTS * 2);
    expect(retired.filter((r) => r.sawPurged).length).toBeGreaterThanOrEqual(CLIENTS);
    expect(purged).toBeGreaterThanOrEqual(CLIENTS);
    expect(orphans).toEqual([]);
    expect(usedInGrace).toBeGreaterThan(0);

    // The hash chain is intact and complete: every rotation has its rotated / delivered / finalized rows.
    const chain = await keyward.verifyAuditChain();
    expect(chain.ok).toBe(true);
    const rows = await store.listAudit({});
    const byRotation = new Map<string, Set<string>>();
    for (const row of rows) {
      if (row.rotationId) byRotation.set(row.rotationId, (byRotation.get(row.rotationId) ?? new Set()).add(row.type));
    }
    for (const r of rotations) {
      const types = byRotation.get(r.id);
      expect(types?.has('key.rotated')).toBe(true);
      expect(types?.has('rotation.delivered')).toBe(true);
      if (r.state === 'completed') expect(types?.has('key.finalized')).toBe(true);
    }
    expect(rows.filter((r) => r.type === 'key.issued')).toHaveLength(CLIENTS);
    expect(rows.filter((r) => r.type === 'key.purged')).toHaveLength(purged);
    expect(rows.filter((r) => r.type === 'key.used_in_grace').length).toBeGreaterThan(0);

    // Pino audit lines exist for each lifecycle event, and no plaintext key appears in any log line or audit row.
    const auditLines = lines.filter((l) => l.includes('"audit":true'));
    for (const event of ['key.issued', 'key.rotated', 'rotation.delivered', 'key.finalized', 'key.purged', 'key.used_in_grace']) {
      expect(
        auditLines.some((l) => l.includes(`"event":"${event}"`)),
        event,
      ).toBe(true);
    }
    expect(eventLog.length).toBeGreaterThan(90 * 24);
    const everything = `${lines.join('\n')}\n${eventLog.join('\n')}\n${JSON.stringify(rows)}\n${JSON.stringify(rotations)}`;
    expect(plaintexts.size).toBe(CLIENTS + rotated);
    expect(deliveries).toHaveLength(rotated);
    for (const key of plaintexts) expect(everything.includes(key)).toBe(false);
  });
});
