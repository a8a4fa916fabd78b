import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { createKeyward } from '../keyward.js';
import { MemoryStore } from '../memory-store.js';
import type { Alert, AlertSink } from './alert-sinks.js';
import { loggerAlertSink } from './alert-sinks.js';
import { createAlerting } from './alerting.js';

function recordingSink(name = 'rec'): AlertSink & { alerts: Alert[] } {
  const alerts: Alert[] = [];
  return { name, alerts, send: async (alert) => void alerts.push(alert) };
}

async function setup() {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const lines: unknown[] = [];
  const logger = { debug() {}, info() {}, warn() {}, error: (obj: object) => void lines.push(obj) };
  const keyward = createKeyward({ store: new MemoryStore(), clock, logger });
  const issued = await keyward.issue('acme');
  return { clock, keyward, issued, lines };
}

describe('createAlerting', () => {
  it('a flood of revoked-key uses pages once per key per window, then reports how many were held back', async () => {
    const { clock, keyward, issued } = await setup();
    const sink = recordingSink();
    const alerting = createAlerting(keyward, { sinks: [sink] });
    await keyward.revoke(issued.id, { reason: 'leaked' });
    for (let i = 0; i < 500; i++) await keyward.verify(issued.key, { ip: '10.0.0.9', path: '/orders' });
    await alerting.close();
    expect(sink.alerts).toHaveLength(1);
    expect(sink.alerts[0]).toMatchObject({
      kind: 'key.rejected.revoked',
      severity: 'critical',
      keyId: issued.id,
      suppressed: 0,
      details: { ip: '10.0.0.9', path: '/orders' },
    });
    const again = createAlerting(keyward, { sinks: [sink], rateLimit: { window: '5m' } });
    for (let i = 0; i < 10; i++) await keyward.verify(issued.key);
    clock.advance(5 * 60_000);
    await keyward.verify(issued.key);
    await again.close();
    expect(sink.alerts.map((a) => a.suppressed)).toEqual([0, 0, 9]);
    expect(JSON.stringify(sink.alerts)).not.toContain(issued.key);
  });

  it('only the configured kinds; rateLimit false sends every one; a failing sink is logged and does not stop the others', async () => {
    const { keyward, issued, lines } = await setup();
    const good = recordingSink('good');
    const bad: AlertSink = { name: 'bad', send: async () => Promise.reject(new Error('pager down')) };
    const alerting = createAlerting(keyward, { sinks: [bad, good], rateLimit: false, kinds: ['key.revoked'] });
    await keyward.revoke(issued.id, { reason: 'offboarded' });
    await keyward.verify(issued.key); // key.rejected.revoked: not a configured kind
    await alerting.close();
    expect(good.alerts.map((a) => a.kind)).toEqual(['key.revoked']);
    expect(lines).toContainEqual(expect.objectContaining({ sink: 'bad', kind: 'key.revoked' }));
  });

  it('validates options', async () => {
    const { keyward } = await setup();
    expect(() => createAlerting(keyward, { sinks: [] })).toThrow(/createAlerting\.sinks/);
    expect(() => createAlerting(keyward, { sinks: [recordingSink()], kinds: ['nope' as never] })).toThrow(/createAlerting\.kinds.*"nope"/);
    expect(() => createAlerting(keyward, { sinks: [recordingSink()], rateLimit: { window: 'soon' } })).toThrow(/rateLimit\.window/);
  });

  it('loggerAlertSink maps severity to the level', async () => {
    const calls: [string, object][] = [];
    const logger = {
      debug() {},
      info: (o: object) => void calls.push(['info', o]),
      warn: (o: object) => void calls.push(['warn', o]),
      error: (o: object) => void calls.push(['error', o]),
    };
    const sink = loggerAlertSink(logger);
    const base = { at: 1, clientId: 'a', keyId: null, fingerprint: null, rotationId: null, summary: 's', suppressed: 0, details: {} };
    await sink.send({ ...base, kind: 'rotation.failed', severity: 'critical' });
    await sink.send({ ...base, kind: 'key.expiring', severity: 'warning' });
    expect(calls.map(([level]) => level)).toEqual(['error', 'warn']);
    expect(calls[0]?.[1]).toMatchObject({ alert: true, kind: 'rotation.failed' });
  });
});
