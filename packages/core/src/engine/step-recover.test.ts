import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import type { KeywardEvents } from '../events.js';
import { createKeyward } from '../keyward.js';
import { MemoryStore } from '../memory-store.js';
import type { RotationResult } from '../rotation.js';
import { Scheduler } from './scheduler.js';
import type { DeliveryCheck, DeliveryStatus, KeyDelivery, SecretSink } from './secret-sink.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A sink that remembers what it took; `confirm` answers from that, or as told. */
class MemorySink implements SecretSink {
  readonly name = 'memory';
  readonly held: KeyDelivery[] = [];
  answer: DeliveryStatus | 'throw' | undefined;
  async deliver(delivery: KeyDelivery): Promise<void> {
    this.held.push(delivery);
  }
  async confirm(check: DeliveryCheck): Promise<DeliveryStatus> {
    if (this.answer === 'throw') throw new Error('sink unreachable');
    if (this.answer) return this.answer;
    return this.held.some((d) => d.clientId === check.clientId && check.isNewKey(d.key)) ? 'held' : 'absent';
  }
}

/** A sink that can deliver but not say what it holds (like a webhook). */
const blindSink: SecretSink = { name: 'blind', deliver: async () => {} };

function setup(sink: SecretSink | undefined) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const store = new MemoryStore();
  const warnings: string[] = [];
  const logger = { debug() {}, info() {}, warn: (_o: object, msg: string) => void warnings.push(msg), error() {} };
  const keyward = createKeyward({ store, clock, logger });
  const scheduler = new Scheduler(keyward, sink ? { sink } : {});
  const orphans: KeywardEvents['key.orphaned'][] = [];
  keyward.on('key.orphaned', (e) => void orphans.push(e));
  return { clock, store, keyward, scheduler, orphans, warnings };
}

/**
 * A pass that died between handing the key over and recording it: the rotation is
 * `started`, and an hour later (past `staleAfter`) another pass finds it.
 */
async function crashedRotation(ctx: ReturnType<typeof setup>, handOver?: MemorySink): Promise<{ old: string; crashed: RotationResult }> {
  const { key: old } = await ctx.keyward.issue('acme');
  ctx.clock.advance(24 * DAY);
  const crashed = await ctx.keyward.startRotation('acme');
  if (handOver) {
    const { rotationId, clientId, newKeyId: keyId, fingerprint, graceUntil, expiresAt } = crashed;
    await handOver.deliver({ rotationId, clientId, keyId, key: crashed.key as string, fingerprint, graceUntil, expiresAt });
  }
  ctx.clock.advance(61 * MINUTE);
  return { old, crashed };
}

describe('recovery of crashed rotations never revokes a key that a consumer may hold', () => {
  it('a key the sink holds is marked delivered (with the evidence), stays valid and finalizes when grace ends', async () => {
    const sink = new MemorySink();
    const ctx = setup(sink);
    const { old, crashed } = await crashedRotation(ctx, sink);
    expect(await ctx.scheduler.tick()).toMatchObject({ confirmed: 1, recovered: 0, unconfirmed: 0, failed: 0 });
    expect((await ctx.store.findRotation(crashed.rotationId))?.state).toBe('delivered');
    expect(await ctx.keyward.verify(crashed.key)).toMatchObject({ valid: true });
    expect(await ctx.keyward.verify(old)).toMatchObject({ valid: true });
    const marked = (await ctx.store.listAudit({})).find((a) => a.type === 'rotation.delivered');
    expect(marked).toMatchObject({ rotationId: crashed.rotationId, data: { sink: 'memory', evidence: 'memory holds it' } });
    ctx.clock.advance(48 * HOUR);
    expect(await ctx.scheduler.tick()).toMatchObject({ finalized: 1 });
    expect(await ctx.keyward.verify(crashed.key)).toMatchObject({ valid: true, status: 'active' });
    expect((await ctx.keyward.verifyAuditChain()).ok).toBe(true);
  });

  it('a sink that cannot confirm: left open with both keys valid, reported once; the new key’s first use marks it delivered', async () => {
    const ctx = setup(blindSink);
    const { old, crashed } = await crashedRotation(ctx);
    expect(await ctx.scheduler.tick()).toMatchObject({ unconfirmed: 1, recovered: 0, confirmed: 0, failed: 0 });
    expect((await ctx.store.findRotation(crashed.rotationId))?.state).toBe('started');
    expect(await ctx.keyward.verify(old)).toMatchObject({ valid: true });
    expect(await ctx.keyward.verify(crashed.key)).toMatchObject({ valid: true, status: 'pending' });
    expect(ctx.orphans).toMatchObject([{ problem: 'delivery_unknown', clientId: 'acme', fingerprint: crashed.fingerprint }]);
    expect(ctx.warnings.join('\n')).toMatch(/delivery cannot be confirmed left open/);
    const reported = (await ctx.store.listAudit({})).filter((a) => a.type === 'key.orphaned');
    expect(reported).toMatchObject([{ reason: 'delivery_unknown', rotationId: crashed.rotationId, keyId: crashed.newKeyId }]);
    expect(JSON.stringify(reported)).not.toContain(crashed.key);

    ctx.clock.advance(HOUR);
    expect(await ctx.scheduler.tick()).toMatchObject({ unconfirmed: 1, recovered: 0 });
    expect(ctx.orphans).toHaveLength(1); // once per noticeInterval

    // The client's first request with the new key (recorded by the API process) proves it got it.
    await ctx.keyward.close(); // writes the last_used_at collected by the verify above
    expect((await ctx.store.findKeyById(crashed.newKeyId))?.lastUsedAt).not.toBeNull();
    expect(await ctx.scheduler.tick()).toMatchObject({ confirmed: 1, unconfirmed: 0 });
    const marked = (await ctx.store.listAudit({})).find((a) => a.type === 'rotation.delivered');
    expect(marked).toMatchObject({ rotationId: crashed.rotationId, data: { sink: 'blind', evidence: 'new key used' } });
    ctx.clock.advance(48 * HOUR);
    expect(await ctx.scheduler.tick()).toMatchObject({ finalized: 1 });
    expect((await ctx.keyward.verifyAuditChain()).ok).toBe(true);
  });

  it('a sink that fails to answer or answers unknown leaves it open; only a sure "absent" rolls it back', async () => {
    const sink = new MemorySink();
    const ctx = setup(sink);
    const { old, crashed } = await crashedRotation(ctx);
    sink.answer = 'throw';
    expect(await ctx.scheduler.tick()).toMatchObject({ unconfirmed: 1, recovered: 0, failed: 0 });
    expect(ctx.warnings.join('\n')).toMatch(/could not confirm a crashed delivery/);
    sink.answer = 'unknown';
    expect(await ctx.scheduler.tick()).toMatchObject({ unconfirmed: 1, recovered: 0 });
    expect((await ctx.store.findKeyById(crashed.newKeyId))?.status).toBe('pending');
    sink.answer = 'absent';
    expect(await ctx.scheduler.tick()).toMatchObject({ unconfirmed: 0, recovered: 1 });
    const rotation = await ctx.store.findRotation(crashed.rotationId);
    expect(rotation).toMatchObject({ state: 'failed', lastError: expect.stringMatching(/memory does not hold it/) });
    expect(await ctx.keyward.verify(crashed.key)).toMatchObject({ valid: false, reason: 'revoked' });
    expect(await ctx.keyward.verify(old)).toMatchObject({ valid: true });
  });

  it('a delivery slower than staleAfter whose rotation another process rolled back is reported, not a quiet lost race', async () => {
    const sink = new MemorySink();
    const ctx = setup(sink);
    await ctx.keyward.issue('acme');
    ctx.clock.advance(24 * DAY);
    let entered: () => void = () => {};
    const inDelivery = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const deliver = sink.deliver.bind(sink);
    sink.deliver = async (delivery) => {
      entered();
      await gate;
      await deliver(delivery);
    };
    const slow = ctx.scheduler.tick();
    await inDelivery;
    ctx.clock.advance(61 * MINUTE);
    expect(await new Scheduler(ctx.keyward, { sink }).tick()).toMatchObject({ recovered: 1 }); // the file is not there yet
    release();
    expect(await slow).toMatchObject({ rotated: 1, delivered: 0, failed: 1 });
  });

  it('without a sink nothing can be confirmed: the rotation stays open, not revoked', async () => {
    const ctx = setup(undefined);
    const { crashed } = await crashedRotation(ctx);
    expect(await ctx.scheduler.tick()).toMatchObject({ unconfirmed: 1, recovered: 0 });
    expect((await ctx.store.findKeyById(crashed.newKeyId))?.status).toBe('pending');
  });

  it('isNewKey uses the keyward hasher (pepper included) and refuses anything else', async () => {
    const sink = new MemorySink();
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const keyward = createKeyward({ store: new MemoryStore(), clock, pepper: 'a-pepper-of-16-chars-or-more' });
    const { key: old } = await keyward.issue('acme');
    clock.advance(24 * DAY);
    const crashed = await keyward.startRotation('acme');
    clock.advance(61 * MINUTE);
    let check: DeliveryCheck | undefined;
    sink.confirm = async (c) => {
      check = c;
      return 'unknown';
    };
    await new Scheduler(keyward, { sink }).tick();
    expect(check).toMatchObject({ rotationId: crashed.rotationId, clientId: 'acme', keyId: crashed.newKeyId });
    expect(check?.isNewKey(crashed.key as string)).toBe(true);
    expect(check?.isNewKey(old)).toBe(false);
    expect(check?.isNewKey('')).toBe(false);
    expect(check?.isNewKey(undefined as unknown as string)).toBe(false);
  });
});
