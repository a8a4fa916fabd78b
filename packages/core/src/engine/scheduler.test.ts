import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import type { KeywardEvents } from '../events.js';
import { createKeyward } from '../keyward.js';
import { MemoryStore } from '../memory-store.js';
import { Scheduler } from './scheduler.js';
import type { DeliveryCheck, DeliveryStatus, KeyDelivery, SecretSink } from './secret-sink.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

class RecordingSink implements SecretSink {
  readonly name = 'recording';
  readonly delivered: KeyDelivery[] = [];
  failNext = 0;
  async deliver(delivery: KeyDelivery): Promise<void> {
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error(`receiver down (would have sent ${delivery.key})`);
    }
    this.delivered.push(delivery);
  }
  /** What `confirm` answers when it did not deliver the rotation itself (`absent`: it knows everything it got). */
  otherwise: DeliveryStatus | 'throw' = 'absent';
  readonly checks: DeliveryCheck[] = [];
  async confirm(check: DeliveryCheck): Promise<DeliveryStatus> {
    this.checks.push(check);
    if (this.delivered.some((d) => d.rotationId === check.rotationId && check.isNewKey(d.key))) return 'held';
    if (this.otherwise === 'throw') throw new Error('sink unreachable');
    return this.otherwise;
  }
}

function setup(options: { sink?: SecretSink | null; expiryNotices?: readonly string[] | false } = {}) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const store = new MemoryStore();
  const keyward = createKeyward({ store, clock });
  const sink = new RecordingSink();
  const notices = options.expiryNotices === undefined ? {} : { expiryNotices: options.expiryNotices };
  const scheduler = new Scheduler(keyward, options.sink === null ? notices : { ...notices, sink: options.sink ?? sink });
  const seen: { name: string; event: unknown }[] = [];
  for (const name of ['rotation.failed', 'key.expiring', 'key.orphaned', 'key.finalized'] as const) {
    keyward.on(name, (event: KeywardEvents[typeof name]) => {
      seen.push({ name, event });
    });
  }
  return { clock, store, keyward, sink, scheduler, seen };
}

describe('Scheduler options', () => {
  it('rejects bad options naming the option and value, and never mutates them', () => {
    const keyward = createKeyward();
    expect(() => new Scheduler(keyward, { cron: 'every tuesday' })).toThrow(/Scheduler\.cron.*"every tuesday"/);
    expect(() => new Scheduler(keyward, { rotateBefore: '7x' })).toThrow(/Scheduler\.rotateBefore/);
    expect(() => new Scheduler(keyward, { concurrency: 0 })).toThrow(/Scheduler\.concurrency.*0/);
    expect(() => new Scheduler(keyward, { sink: {} as SecretSink })).toThrow(/Scheduler\.sink/);
    const options = Object.freeze({ rotateBefore: '3d', cron: '0 * * * *' });
    const scheduler = new Scheduler(keyward, options);
    expect(scheduler.config).toMatchObject({ rotateBeforeMs: 3 * DAY, cron: '0 * * * *', staleAfterMs: HOUR, concurrency: 8 });
    expect(new Scheduler(keyward).config.cron).toBe('*/15 * * * *');
  });
});

describe('Scheduler pass', () => {
  it('rotates a key within rotateBefore of expiry, delivers it, and finalizes after grace', async () => {
    const { clock, keyward, sink, scheduler, seen } = setup();
    const issued = await keyward.issue('acme');
    expect((await scheduler.tick()).rotated).toBe(0);
    clock.advance(23 * DAY + HOUR); // 30d lifetime: now 6d23h before expiry
    const report = await scheduler.tick();
    expect(report).toMatchObject({ rotated: 1, delivered: 1, failed: 0, ok: true });
    expect(sink.delivered).toHaveLength(1);
    const [delivery] = sink.delivered;
    expect(delivery?.clientId).toBe('acme');
    expect(await keyward.verify(delivery?.key)).toMatchObject({ valid: true });
    expect(await keyward.verify(issued.key)).toMatchObject({ valid: true });
    expect((await scheduler.tick()).rotated).toBe(0); // nothing twice
    clock.advance(48 * HOUR);
    expect(await scheduler.tick()).toMatchObject({ finalized: 1 });
    expect(await keyward.verify(issued.key)).toMatchObject({ valid: false, reason: 'inactive' });
    expect(seen.filter((s) => s.name === 'key.finalized')).toHaveLength(1);
    clock.advance(31 * DAY);
    const later = await scheduler.tick();
    expect(later.purged).toBeGreaterThanOrEqual(1);
    expect((await keyward.verifyAuditChain()).ok).toBe(true);
  });

  it('a delivery that fails aborts the rotation: pending revoked, old key valid, rotation.failed raised, key never in the error', async () => {
    const { clock, keyward, store, sink, scheduler, seen } = setup();
    const issued = await keyward.issue('acme');
    sink.failNext = 1;
    clock.advance(24 * DAY);
    const report = await scheduler.tick();
    expect(report).toMatchObject({ rotated: 1, delivered: 0, failed: 1 });
    const [rotation] = await store.listRotations({ clientId: 'acme' });
    expect(rotation?.state).toBe('failed');
    expect(rotation?.lastError).toContain('[redacted]');
    expect(rotation?.lastError).not.toMatch(/sk_live_/);
    const pending = await store.findKeyById(rotation?.newKeyId as string);
    expect(pending?.status).toBe('revoked');
    expect(await keyward.verify(issued.key)).toMatchObject({ valid: true });
    expect(seen.find((s) => s.name === 'rotation.failed')).toBeTruthy();
    // retried only after retryAfter (1h); then it works
    expect((await scheduler.tick()).rotated).toBe(0);
    clock.advance(HOUR);
    expect(await scheduler.tick()).toMatchObject({ rotated: 1, delivered: 1 });
  });

  it('without a sink it raises key.expiring with daysLeft (once a day), and rotates nothing', async () => {
    const { clock, keyward, store, scheduler, seen } = setup({ sink: null, expiryNotices: false });
    await keyward.issue('acme');
    clock.advance(25 * DAY);
    expect(await scheduler.tick()).toMatchObject({ rotated: 0, expiring: 1 });
    expect(await scheduler.tick()).toMatchObject({ expiring: 0 });
    clock.advance(DAY);
    expect(await scheduler.tick()).toMatchObject({ expiring: 1 });
    const notices = seen.filter((s) => s.name === 'key.expiring').map((s) => s.event as KeywardEvents['key.expiring']);
    expect(notices.map((n) => n.daysLeft)).toEqual([5, 4]);
    expect(await store.listRotations({})).toHaveLength(0);
  });

  it('sends each expiry notice once per key and lead time, across two schedulers and a restart', async () => {
    const { clock, keyward, store, seen } = setup({ sink: null });
    const other = new Scheduler(keyward, { expiryNotices: ['14d', '3d', '1d'] });
    const first = new Scheduler(keyward, { expiryNotices: ['14d', '3d', '1d'] });
    await keyward.issue('acme'); // 30 days
    const short = await keyward.issue('short', { ttl: '2d' }); // within 14d and 3d at once: one notice, for 3d
    const pass = () => Promise.all([first.tick(), other.tick()]);
    await pass();
    clock.advance(16 * DAY + 1); // acme: 14 days left
    await pass();
    await pass();
    const restarted = new Scheduler(keyward, { expiryNotices: ['14d', '3d', '1d'] });
    await restarted.tick();
    clock.advance(11 * DAY); // acme: 3 days left
    await pass();
    clock.advance(2 * DAY); // acme: 1 day left
    await pass();
    await pass();
    const notices = seen
      .filter((s) => s.name === 'key.expiring')
      .map((s) => s.event as KeywardEvents['key.expiring'])
      .filter((e) => e.notice !== undefined);
    expect(notices.map((n) => [n.fingerprint, n.notice])).toEqual([
      [short.fingerprint, '3d'],
      [expect.any(String), '14d'],
      [expect.any(String), '3d'],
      [expect.any(String), '1d'],
    ]);
    expect(await store.listRotations({})).toHaveLength(0);
  });

  it('rolls back a crashed rotation whose key the sink does not hold, then rotates again', async () => {
    const { clock, keyward, store, sink, scheduler } = setup();
    await keyward.issue('acme');
    clock.advance(24 * DAY);
    const crashed = await keyward.startRotation('acme'); // its plaintext is lost with the "crashed" process
    clock.advance(30 * 60_000);
    expect((await scheduler.tick()).recovered).toBe(0); // not stale yet
    clock.advance(31 * 60_000);
    expect((await scheduler.tick()).recovered).toBe(1);
    expect((await store.findRotation(crashed.rotationId))?.state).toBe('failed');
    expect((await store.findKeyById(crashed.newKeyId))?.status).toBe('revoked');
    expect(sink.checks.map((c) => c.rotationId)).toEqual([crashed.rotationId]);
    clock.advance(HOUR);
    expect(await scheduler.tick()).toMatchObject({ rotated: 1, delivered: 1 });
    expect(sink.delivered).toHaveLength(1);
  });

  it('reports orphans: expired active key, client without a valid key (rate-limited)', async () => {
    const { clock, keyward, scheduler, seen } = setup({ sink: null });
    await keyward.issue('acme', { ttl: '1d' });
    clock.advance(2 * DAY);
    const report = await scheduler.tick();
    expect(report.orphans).toBe(2);
    const problems = seen.filter((s) => s.name === 'key.orphaned').map((s) => (s.event as KeywardEvents['key.orphaned']).problem);
    expect(problems.sort()).toEqual(['active_key_expired', 'client_without_valid_key']);
    await scheduler.tick();
    expect(seen.filter((s) => s.name === 'key.orphaned')).toHaveLength(2);
    const audit = await keyward.store.listAudit({});
    expect(audit.filter((a) => a.type === 'key.orphaned')).toHaveLength(2);
  });

  it('two schedulers racing on one store rotate and deliver each due key exactly once', async () => {
    const { clock, keyward, store, sink } = setup();
    for (let i = 0; i < 20; i++) await keyward.issue(`client-${i}`);
    clock.advance(24 * DAY);
    const a = new Scheduler(keyward, { sink, concurrency: 3 });
    const b = new Scheduler(keyward, { sink, concurrency: 5 });
    await Promise.all([a.tick(), b.tick(), a.tick(), b.tick()]);
    expect(sink.delivered).toHaveLength(20);
    expect(new Set(sink.delivered.map((d) => d.clientId)).size).toBe(20);
    expect(await store.listRotations({})).toHaveLength(20);
  });

  it('skips the pass when another process holds the lock, and releases its own', async () => {
    const { keyward } = setup();
    const held = new Set<string>();
    const lock = {
      async acquire(name: string) {
        if (held.has(name)) return null;
        held.add(name);
        return { release: async () => void held.delete(name) };
      },
    };
    const a = new Scheduler(keyward, { lock });
    held.add('keyward:scheduler');
    expect((await a.tick()).skippedLocked).toBe(true);
    held.clear();
    const report = await a.tick();
    expect(report.skippedLocked).toBe(false);
    expect(held.size).toBe(0);
    expect(a.lastSuccessAt).toBe(report.finishedAt);
  });

  it('start() schedules with croner and stop() waits for a running pass', async () => {
    const { scheduler } = setup();
    scheduler.start();
    expect(scheduler.started).toBe(true);
    expect(scheduler.nextRun()).toBeInstanceOf(Date);
    const pass = scheduler.tick();
    await scheduler.stop();
    expect(scheduler.started).toBe(false);
    expect(scheduler.lastPass).toBeDefined();
    await pass;
  });
});
