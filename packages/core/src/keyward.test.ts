import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from './clock.js';
import { ErrorCodes } from './error-codes.js';
import type { KeywardEvents } from './events.js';
import { createKeyward } from './keyward.js';
import { MemoryStore } from './memory-store.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function setup(options: Parameters<typeof createKeyward>[0] = {}) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const store = new MemoryStore();
  const keyward = createKeyward({ store, clock, ...options });
  const events: { name: keyof KeywardEvents; event: unknown }[] = [];
  for (const name of [
    'key.issued',
    'key.rotated',
    'key.finalized',
    'key.revoked',
    'key.rejected',
    'key.used_in_grace',
    'key.purged',
    'rotation.aborted',
  ] as const) {
    keyward.on(name, (event) => {
      events.push({ name, event });
    });
  }
  return { clock, store, keyward, events };
}

describe('one client through its whole lifecycle (fake clock)', () => {
  it('issue → rotate → both accepted → grace passes → old refused → finalize → revoke', async () => {
    const { clock, store, keyward, events } = setup();
    const issued = await keyward.issue('acme', { scopes: ['orders:read'], actor: 'ops' });
    expect(issued.key).toMatch(/^sk_live_/);
    expect(await keyward.verify(issued.key)).toMatchObject({
      valid: true,
      clientId: 'acme',
      status: 'active',
      sunset: null,
      scopes: ['orders:read'],
    });

    clock.advance(HOUR);
    const rotation = await keyward.rotate('acme', { reason: 'scheduled', actor: 'ops' });
    expect(rotation.key).toBeDefined();
    expect(rotation.graceUntil).toBe(clock.now() + 48 * HOUR);
    const newKey = rotation.key as string;

    // Both keys are accepted during grace; the old one carries its sunset.
    expect(await keyward.verify(issued.key, { method: 'GET', path: '/orders', ip: '10.0.0.1' })).toMatchObject({
      valid: true,
      sunset: rotation.graceUntil,
    });
    expect(await keyward.verify(newKey)).toMatchObject({ valid: true, status: 'pending', sunset: null, scopes: ['orders:read'] });
    await keyward.firstUsesRecorded(); // the new key's first use is recorded in the background: the rotation switched
    expect(events.find((e) => e.name === 'key.used_in_grace')?.event).toMatchObject({
      fingerprint: issued.fingerprint,
      context: { path: '/orders' },
    });

    // Grace passes; finalize has not run yet: the clock alone refuses the old key.
    clock.advance(48 * HOUR);
    expect(await keyward.verify(issued.key, { method: 'GET', path: '/orders', ip: '10.0.0.1' })).toMatchObject({
      valid: false,
      reason: 'inactive',
      fingerprint: issued.fingerprint,
    });
    expect(events.filter((e) => e.name === 'key.rejected').map((e) => e.event)).toEqual([
      expect.objectContaining({
        reason: 'inactive',
        fingerprint: issued.fingerprint,
        clientId: 'acme',
        context: { method: 'GET', path: '/orders', ip: '10.0.0.1' },
      }),
    ]);
    expect(await keyward.verify(newKey)).toMatchObject({ valid: true, status: 'pending' });

    await keyward.finalize(rotation.rotationId, { actor: 'scheduler' });
    expect((await store.findKeyById(issued.id))?.status).toBe('inactive');
    expect(await keyward.verify(newKey)).toMatchObject({ valid: true, status: 'active', sunset: null });
    expect(await keyward.verify(issued.key)).toMatchObject({ valid: false, reason: 'inactive' });

    await keyward.revoke(rotation.newKeyId, { reason: 'compromised', actor: 'security' });
    expect(await keyward.verify(newKey)).toMatchObject({ valid: false, reason: 'revoked' });
    expect(events.at(-1)).toMatchObject({ name: 'key.rejected', event: { reason: 'revoked' } });

    // Every lifecycle step is in the audit log, chained, with fingerprints only.
    const audit = await store.listAudit({});
    expect(audit.map((a) => a.type)).toEqual(['key.issued', 'key.rotated', 'rotation.switched', 'key.finalized', 'key.revoked']);
    expect(await keyward.verifyAuditChain()).toMatchObject({ ok: true, count: 5 });
    const everything = JSON.stringify({ audit, events, keys: await store.listKeys({}) });
    expect(everything).not.toContain(issued.key);
    expect(everything).not.toContain(newKey);
    expect(everything).not.toContain(issued.key.slice(8, 40));
  });

  it('refuses an expired key, and a key past its expiry even during grace', async () => {
    const { clock, keyward } = setup({ keyLifetime: '10d' });
    const issued = await keyward.issue('acme');
    expect(issued.expiresAt).toBe(clock.now() + 10 * DAY);
    clock.advance(9 * DAY);
    const rotation = await keyward.rotate('acme', { grace: '3d' });
    expect(await keyward.verify(issued.key)).toMatchObject({ valid: true, sunset: issued.expiresAt }); // sunset = min(grace end, expiry)
    clock.advance(DAY);
    expect(await keyward.verify(issued.key)).toMatchObject({ valid: false, reason: 'expired' });
    expect(await keyward.verify(rotation.key)).toMatchObject({ valid: true });
  });

  it('issues keys that never expire with ttl null', async () => {
    const { clock, keyward } = setup();
    const issued = await keyward.issue('acme', { ttl: null });
    clock.advance(10_000 * DAY);
    expect(await keyward.verify(issued.key)).toMatchObject({ valid: true, expiresAt: null });
  });
});

describe('rotation rules', () => {
  it('never creates a second pending key: a second rotate gets a clear conflict', async () => {
    const { keyward, store } = setup();
    await keyward.issue('acme');
    const first = await keyward.rotate('acme');
    await expect(keyward.rotate('acme')).rejects.toMatchObject({
      code: ErrorCodes.ROTATION_IN_PROGRESS,
      details: { rotationId: first.rotationId },
    });
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => keyward.rotate('acme')));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(await store.listKeys({ clientId: 'acme', status: ['pending'] })).toHaveLength(1);
  });

  it('lets concurrent rotates race: exactly one wins', async () => {
    const { keyward, store } = setup();
    await keyward.issue('acme');
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => keyward.rotate('acme')));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason.code).toMatch(/ROTATION_IN_PROGRESS|CONFLICT/);
    expect(await store.listKeys({ clientId: 'acme', status: ['pending'] })).toHaveLength(1);
    expect(await store.listRotations({ clientId: 'acme' })).toHaveLength(1);
  });

  it('replays a rotation for a retried idempotency key, without the plaintext', async () => {
    const { keyward } = setup();
    await keyward.issue('acme');
    const first = await keyward.rotate('acme', { idempotencyKey: 'req-1' });
    const again = await keyward.rotate('acme', { idempotencyKey: 'req-1' });
    expect(again).toMatchObject({
      replayed: true,
      key: undefined,
      rotationId: first.rotationId,
      fingerprint: first.fingerprint,
      graceUntil: first.graceUntil,
    });
    await expect(keyward.rotate('acme', { idempotencyKey: 'req-2' })).rejects.toMatchObject({ code: ErrorCodes.ROTATION_IN_PROGRESS });
  });

  it('abort leaves the old key active and discards the new one', async () => {
    const { keyward, clock } = setup();
    const issued = await keyward.issue('acme');
    const rotation = await keyward.rotate('acme');
    await keyward.abort(rotation.rotationId, { reason: 'client not ready' });
    clock.advance(72 * HOUR);
    expect(await keyward.verify(issued.key)).toMatchObject({ valid: true, sunset: null });
    expect(await keyward.verify(rotation.key)).toMatchObject({ valid: false, reason: 'revoked' });
    await expect(keyward.finalize(rotation.rotationId)).rejects.toMatchObject({ code: ErrorCodes.ILLEGAL_TRANSITION });
    await keyward.rotate('acme'); // a new rotation may start
  });

  it('revoking the old key mid-rotation promotes the new key; revoking the new key cancels', async () => {
    const { keyward, store } = setup();
    const a = await keyward.issue('a');
    const ra = await keyward.rotate('a');
    await keyward.revoke(a.id, { reason: 'leaked' });
    expect(await keyward.verify(a.key)).toMatchObject({ valid: false, reason: 'revoked' });
    expect(await keyward.verify(ra.key)).toMatchObject({ valid: true, status: 'active' });
    expect((await store.findRotation(ra.rotationId))?.state).toBe('completed');

    const b = await keyward.issue('b');
    const rb = await keyward.rotate('b');
    await keyward.revoke(rb.newKeyId, { reason: 'wrong scopes' });
    expect(await keyward.verify(b.key)).toMatchObject({ valid: true, sunset: null });
    expect((await store.findRotation(rb.rotationId))?.state).toBe('aborted');
  });

  it('names what is wrong: unknown client, several active keys, bad grace', async () => {
    const { keyward, store } = setup();
    await expect(keyward.rotate('nobody')).rejects.toMatchObject({
      code: ErrorCodes.NOT_FOUND,
      message: expect.stringContaining('nobody'),
    });
    await keyward.issue('acme');
    await keyward.issue('acme');
    await expect(keyward.rotate('acme')).rejects.toMatchObject({ code: ErrorCodes.AMBIGUOUS_KEY });
    const [one] = await keyward.listKeys('acme');
    await expect(keyward.rotate('acme', { keyId: one?.id, grace: '48x' })).rejects.toThrow(/option "grace" must be a duration.*"48x"/);
    expect(await store.listKeys({ status: ['pending'] })).toHaveLength(0);
    await keyward.rotate('acme', { keyId: one?.id });
  });

  it('refuses illegal transitions with both states named', async () => {
    const { keyward } = setup();
    const issued = await keyward.issue('acme');
    await keyward.revoke(issued.id, { reason: 'x' });
    await expect(keyward.revoke(issued.id, { reason: 'again' })).rejects.toThrow(/revoked → revoked/);
    await expect(keyward.revoke('missing', { reason: 'x' })).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
    await expect(keyward.revoke(issued.id, { reason: '' })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
  });
});

describe('purge', () => {
  it('deletes retired keys after the retention period, keeping the audit trail', async () => {
    const { keyward, clock, store } = setup({ retention: '30d', keyLifetime: '90d' });
    const old = await keyward.issue('acme');
    const rotation = await keyward.rotate('acme');
    await keyward.finalize(rotation.rotationId);
    const other = await keyward.issue('other');
    await keyward.revoke(other.id, { reason: 'offboarded' });
    clock.advance(29 * DAY);
    expect((await keyward.purge()).purged).toBe(0);
    clock.advance(2 * DAY);
    const result = await keyward.purge({ actor: 'scheduler' });
    expect(result.purged).toBe(2);
    expect(await store.findKeyById(old.id)).toBeNull();
    expect(await keyward.verify(old.key)).toMatchObject({ valid: false, reason: 'unknown' });
    expect(await keyward.verify(rotation.key)).toMatchObject({ valid: true });
    expect((await store.listAudit({})).filter((a) => a.type === 'key.purged')).toHaveLength(2);
    expect(await keyward.verifyAuditChain()).toMatchObject({ ok: true });
  });
});

describe('options', () => {
  it('validates at construction, naming the option and the value', () => {
    expect(() => createKeyward({ grace: '48x' })).toThrow(
      'option "grace" must be a duration like 48h, 30d, 15m or a number of milliseconds; got "48x"',
    );
    expect(() => createKeyward({ prefix: 'SK LIVE' })).toThrow(/@keyward\/core: option "prefix"/);
    expect(() => createKeyward({ lru: { max: 0 } })).toThrow(/option "lru.max" must be a positive integer; got 0/);
    expect(() => createKeyward({ pepper: 'short' })).toThrow(/option "pepper"/);
    expect(() => createKeyward({ pepper: 'short' })).not.toThrow(/short/);
    expect(() => createKeyward({ store: {} as never })).toThrow(/option "store" must implement KeyStore/);
    expect(() => createKeyward({ logger: console as never })).not.toThrow();
  });

  it('never mutates the caller’s options object', () => {
    const options = Object.freeze({ grace: '1h', lru: Object.freeze({ max: 5 }) });
    const copy = JSON.parse(JSON.stringify(options));
    createKeyward(options);
    expect(options).toEqual(copy);
  });

  it('hashes with HMAC when a pepper is set: a key issued with one pepper is unknown under another', async () => {
    const store = new MemoryStore();
    const a = createKeyward({ store, pepper: 'pepper-one-0123456789' });
    const b = createKeyward({ store, pepper: 'pepper-two-0123456789' });
    const issued = await a.issue('acme');
    expect(await a.verify(issued.key)).toMatchObject({ valid: true });
    expect(await b.verify(issued.key)).toMatchObject({ valid: false, reason: 'unknown' });
  });
});

describe('logging', () => {
  it('logs lifecycle changes with fingerprints and never the key', async () => {
    const lines: unknown[] = [];
    const logger = {
      debug: vi.fn(),
      info: (o: object, m?: string) => lines.push([o, m]),
      warn: (o: object, m?: string) => lines.push([o, m]),
      error: vi.fn(),
    };
    const { keyward } = setup({ logger });
    const issued = await keyward.issue('acme');
    const rotation = await keyward.rotate('acme');
    await keyward.revoke(issued.id, { reason: 'test' });
    const text = JSON.stringify(lines);
    expect(text).toContain(issued.fingerprint);
    expect(text).not.toContain(issued.key);
    expect(text).not.toContain(rotation.key);
  });
});

describe('delivered rotations', () => {
  it('a started rotation cannot finalize until delivered', async () => {
    const { keyward, store } = setup();
    const issued = await keyward.issue('acme');
    const rotation = await keyward.startRotation('acme', { actor: 'scheduler' });
    expect(rotation.state).toBe('started');
    expect(await keyward.verify(rotation.key)).toMatchObject({ valid: true, status: 'pending' });
    await keyward.firstUsesRecorded();
    await expect(keyward.finalize(rotation.rotationId)).rejects.toThrow(/never delivered/);
    await keyward.markDelivered(rotation.rotationId, { sink: 'webhook' });
    await expect(keyward.markDelivered(rotation.rotationId)).rejects.toMatchObject({ code: ErrorCodes.ILLEGAL_TRANSITION });
    await keyward.finalize(rotation.rotationId);
    expect((await store.findKeyById(issued.id))?.status).toBe('inactive');
    expect((await store.listAudit({})).map((a) => a.type)).toEqual([
      'key.issued',
      'key.rotated',
      'rotation.switched',
      'rotation.delivered',
      'key.finalized',
    ]);
  });

  it('a failed delivery records a failed rotation and revokes the undelivered key', async () => {
    const { keyward, store } = setup();
    const issued = await keyward.issue('acme');
    const failures: unknown[] = [];
    keyward.on('rotation.failed', (e) => {
      failures.push(e);
    });
    const rotation = await keyward.startRotation('acme');
    await keyward.abort(rotation.rotationId, { error: 'webhook answered 500 five times' });
    expect((await store.findRotation(rotation.rotationId))?.state).toBe('failed');
    expect(await keyward.verify(rotation.key)).toMatchObject({ valid: false, reason: 'revoked' });
    expect(await keyward.verify(issued.key)).toMatchObject({ valid: true, sunset: null });
    expect(failures).toEqual([expect.objectContaining({ rotationId: rotation.rotationId, error: 'webhook answered 500 five times' })]);
  });
});

describe('with a real pino logger', () => {
  it('writes JSON lines with fingerprints and never a key', async () => {
    const { default: pino } = await import('pino');
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) });
    const { keyward } = setup({ logger });
    const issued = await keyward.issue('acme', { actor: 'ops' });
    const rotation = await keyward.rotate('acme');
    await keyward.revoke(issued.id, { reason: 'test', actor: 'ops' });
    const parsed = lines.map((l) => JSON.parse(l));
    expect(parsed.map((l) => l.event)).toEqual(['key.issued', 'key.rotated', 'key.revoked']);
    expect(parsed[0]).toMatchObject({ fingerprint: issued.fingerprint, clientId: 'acme', actor: 'ops', msg: 'keyward: key issued' });
    expect(lines.join('')).not.toContain(issued.key);
    expect(lines.join('')).not.toContain(rotation.key);
  });
});
