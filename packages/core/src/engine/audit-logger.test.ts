import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { createKeyward } from '../keyward.js';
import { MemoryStore } from '../memory-store.js';
import { auditLogger } from './audit-logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const write = (level: string) => (obj: object, msg?: string) => void lines.push({ level, ...obj, msg });
  return { lines, logger: { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') } };
}

describe('auditLogger', () => {
  it('one pino line per lifecycle event with timestamp, fingerprint, reason, actor, rotationId; never a key', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const store = new MemoryStore();
    const keyward = createKeyward({ store, clock });
    const { lines, logger } = capture();
    const audit = auditLogger(keyward, logger, { durableUsage: false });
    const issued = await keyward.issue('acme', { actor: 'ops' });
    const rotation = await keyward.rotate('acme', { actor: 'ops', reason: 'quarterly' });
    clock.advance(49 * 3_600_000);
    await keyward.finalize(rotation.rotationId, { actor: 'ops' });
    await keyward.revoke(rotation.newKeyId, { reason: 'compromised', actor: 'sec' });
    await audit.close();
    const events = lines.filter((l) => l.audit === true);
    expect(events.map((l) => l.event)).toEqual(['key.issued', 'key.rotated', 'key.finalized', 'key.revoked']);
    expect(events[1]).toMatchObject({
      timestamp: '2026-01-01T00:00:00.000Z',
      rotationId: rotation.rotationId,
      fingerprint: rotation.fingerprint,
      oldFingerprint: issued.fingerprint,
      reason: 'quarterly',
      actor: 'ops',
    });
    expect(events[3]).toMatchObject({ level: 'warn', reason: 'compromised', actor: 'sec' });
    const all = JSON.stringify(lines);
    expect(all).not.toContain(issued.key);
    expect(all).not.toContain(rotation.key);
  });

  it('old-key and revoked-key uses: rate-limited log lines and batched durable audit rows, off the request path', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const store = new MemoryStore();
    const keyward = createKeyward({ store, clock });
    const { lines, logger } = capture();
    const audit = auditLogger(keyward, logger, { durableUsage: { window: '1h', flushInterval: '1h' } });
    const issued = await keyward.issue('acme');
    await keyward.rotate('acme', { grace: '1h' });
    const commitsBefore = (await store.listAudit({})).length;
    for (let i = 0; i < 1000; i++) await keyward.verify(issued.key, { ip: '10.1.1.1' });
    expect((await store.listAudit({})).length).toBe(commitsBefore); // nothing written per request
    clock.advance(3 * 3_600_000); // grace over: the old key is refused (inactive)
    for (let i = 0; i < 1000; i++) await keyward.verify(issued.key);
    await audit.close(); // flushes
    const rows = (await store.listAudit({})).slice(commitsBefore);
    expect(rows.map((r) => [r.type, r.reason])).toEqual([
      ['key.used_in_grace', 'in_grace'],
      ['key.rejected', 'inactive'],
    ]);
    expect(rows[0]?.data).toMatchObject({ uses: 1, ip: '10.1.1.1' });
    expect((await keyward.verifyAuditChain()).ok).toBe(true);
    const useLines = lines.filter((l) => l.event === 'key.used_in_grace' || l.event === 'key.rejected');
    expect(useLines).toHaveLength(2);
    expect(JSON.stringify(lines)).not.toContain(issued.key);
  });
});
