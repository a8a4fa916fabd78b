import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import type { KeyDelivery, SecretSink } from '../engine/secret-sink.js';
import type { KeywardEvents } from '../events.js';
import { generateKey } from '../key-format.js';
import { createKeyward, type Keyward } from '../keyward.js';
import { MemoryStore } from '../memory-store.js';

const made: Keyward[] = [];
function setup() {
  const store = new MemoryStore();
  const clock = new ManualClock(1_700_000_000_000);
  const lines: string[] = [];
  const logger = {
    debug: (o: unknown, m?: string) => void lines.push(JSON.stringify([o, m])),
    info: (o: unknown, m?: string) => void lines.push(JSON.stringify([o, m])),
    warn: (o: unknown, m?: string) => void lines.push(JSON.stringify([o, m])),
    error: (o: unknown, m?: string) => void lines.push(JSON.stringify([o, m])),
  };
  const keyward = createKeyward({ store, clock, logger, grace: '1h' });
  made.push(keyward);
  const events: KeywardEvents['key.leaked'][] = [];
  keyward.on('key.leaked', (e) => void events.push(e));
  return { store, clock, keyward, lines, events };
}

afterEach(async () => {
  for (const keyward of made.splice(0)) await keyward.close();
});

const SOURCE = 'https://github.com/acme/app/blob/abc123/config.js';

describe('reportLeak', () => {
  it('revokes a leaked live key at once, labels every token, and audits each by fingerprint only', async () => {
    const { store, keyward, lines, events } = setup();
    const live = await keyward.issue('acme');
    await keyward.issue('in-grace');
    const rotation = await keyward.rotate('in-grace');
    const retired = await keyward.issue('gone');
    await keyward.revoke(retired.id, { reason: 'offboarded' });
    const foreign = generateKey('sk_live');
    const tokens = [live.key, rotation.key as string, retired.key, foreign, 'garbage-token', live.key];
    const results = await keyward.reportLeak(tokens, { source: SOURCE, actor: 'secret-scanning:github' });
    expect(results.map((r) => [r.label, r.outcome])).toEqual([
      ['true_positive', 'revoked'],
      ['true_positive', 'revoked'], // a pending key is live: revoking it cancels its rotation
      ['true_positive', 'already_retired'],
      ['false_positive', 'not_ours'],
      ['false_positive', 'malformed'],
      ['true_positive', 'revoked'], // the same token twice in one report is decided once
    ]);
    expect(await keyward.verify(live.key)).toMatchObject({ valid: false, reason: 'revoked' });
    expect(await keyward.verify(rotation.key)).toMatchObject({ valid: false, reason: 'revoked' });
    expect((await store.findKeyById(live.id))?.revokedReason).toBe(`leaked: ${SOURCE}`);
    const rows = (await store.listAudit({})).filter((a) => a.type === 'key.leak_reported');
    expect(rows).toHaveLength(5);
    expect(rows.map((r) => r.data.outcome).sort()).toEqual(['already_retired', 'malformed', 'not_ours', 'revoked', 'revoked']);
    expect(rows.every((r) => r.actor === 'secret-scanning:github' && r.reason === SOURCE)).toBe(true);
    expect(events.map((e) => e.outcome).sort()).toEqual(['already_retired', 'revoked', 'revoked']);
    const everything = JSON.stringify([await store.listAudit({}), lines, events, results]);
    for (const token of tokens) expect(everything).not.toContain(token);
  });

  it('is idempotent: the same report twice revokes once', async () => {
    const { store, keyward } = setup();
    const live = await keyward.issue('acme');
    await keyward.reportLeak([live.key], { source: SOURCE });
    const again = await keyward.reportLeak([live.key], { source: SOURCE });
    expect(again[0]).toMatchObject({ outcome: 'already_retired', label: 'true_positive' });
    expect((await store.listAudit({})).filter((a) => a.type === 'key.revoked')).toHaveLength(1);
  });

  it('with policy rotate, delivers a successor through the sink, then revokes the leaked key with no grace', async () => {
    const { store, keyward } = setup();
    const live = await keyward.issue('acme');
    const delivered: KeyDelivery[] = [];
    const sink: SecretSink = { name: 'test', deliver: async (d) => void delivered.push(d) };
    const [result] = await keyward.reportLeak([live.key], { source: SOURCE, policy: 'rotate', sink });
    expect(result).toMatchObject({ outcome: 'rotated' });
    expect(delivered).toHaveLength(1);
    expect(await keyward.verify(live.key)).toMatchObject({ valid: false, reason: 'revoked' });
    expect(await keyward.verify(delivered[0]?.key)).toMatchObject({ valid: true, clientId: 'acme', status: 'active' });
    expect((await store.listRotations({ clientId: 'acme' }))[0]?.state).toBe('completed');
  });

  it('refuses bad input before changing anything, and never unrevokes a leaked key', async () => {
    const { store, keyward } = setup();
    const live = await keyward.issue('acme');
    const before = (await store.listAudit({})).length;
    await expect(keyward.reportLeak([live.key], { source: '' })).rejects.toThrow(/source/);
    await expect(keyward.reportLeak([live.key], { source: SOURCE, policy: 'rotate' })).rejects.toThrow(/needs a sink/);
    await expect(keyward.reportLeak([live.key], { source: SOURCE, policy: 'burn' as never })).rejects.toThrow(/policy/);
    await expect(
      keyward.reportLeak(
        Array.from({ length: 1001 }, () => live.key),
        { source: SOURCE },
      ),
    ).rejects.toThrow(/at most 1000/);
    await expect(keyward.reportLeak([42 as never], { source: SOURCE })).rejects.toThrow(/array of strings/);
    expect(await store.listAudit({})).toHaveLength(before);
    expect(await keyward.verify(live.key)).toMatchObject({ valid: true });
    await keyward.reportLeak([live.key], { source: SOURCE });
    await expect(keyward.unrevoke(live.id, { reason: 'oops' })).rejects.toThrow(/revoked as exposed/);
  });

  it('revokes the live keys of one report in one commit, each with its key.revoked and report audit rows', async () => {
    const { store, keyward, events } = setup();
    const keys = await Promise.all(Array.from({ length: 20 }, (_, i) => keyward.issue(`client-${i}`)));
    const revokedEvents: string[] = [];
    keyward.on('key.revoked', (e) => void revokedEvents.push(e.keyId));
    const commits: { updates: number; audit: string[] }[] = [];
    const commit = store.commit.bind(store);
    store.commit = async (batch) => {
      commits.push({ updates: batch.updateKeys?.length ?? 0, audit: (batch.audit ?? []).map((a) => a.type) });
      return commit(batch);
    };
    const results = await keyward.reportLeak([...keys.map((k) => k.key), generateKey('sk_live')], { source: SOURCE });
    expect(results.map((r) => r.outcome)).toEqual([...keys.map(() => 'revoked'), 'not_ours']);
    const revoking = commits.filter((c) => c.updates > 0);
    expect(revoking).toHaveLength(1);
    expect(revoking[0]?.updates).toBe(20);
    expect(revoking[0]?.audit.filter((t) => t === 'key.revoked')).toHaveLength(20);
    expect(revoking[0]?.audit.filter((t) => t === 'key.leak_reported')).toHaveLength(20);
    for (const k of keys) expect(await keyward.verify(k.key)).toMatchObject({ valid: false, reason: 'revoked' });
    expect(revokedEvents.sort()).toEqual(keys.map((k) => k.id).sort());
    expect(events).toHaveLength(20);
    const rows = await store.listAudit({});
    expect(rows.filter((a) => a.type === 'key.leak_reported')).toHaveLength(21);
    expect(rows.filter((a) => a.type === 'key.revoked')).toHaveLength(20);
  });

  it('when keys change between lookup and revocation, revokes each afresh: none is lost, none revoked twice', async () => {
    const { store, keyward } = setup();
    const untouched = await keyward.issue('untouched');
    const revokedMeanwhile = await keyward.issue('revoked-meanwhile');
    const rotatedMeanwhile = await keyward.issue('rotated-meanwhile');
    const commit = store.commit.bind(store);
    let raced = false;
    store.commit = async (batch) => {
      if (!raced && (batch.updateKeys?.length ?? 0) > 1) {
        // Another process acts on two of the keys after the report looked them up.
        raced = true;
        await keyward.revoke(revokedMeanwhile.id, { reason: 'offboarded' });
        await keyward.rotate('rotated-meanwhile');
      }
      return commit(batch);
    };
    const results = await keyward.reportLeak([untouched.key, revokedMeanwhile.key, rotatedMeanwhile.key], { source: SOURCE });
    expect(raced).toBe(true);
    expect(results.map((r) => r.outcome)).toEqual(['revoked', 'already_retired', 'revoked']);
    for (const k of [untouched, revokedMeanwhile, rotatedMeanwhile]) {
      expect(await keyward.verify(k.key)).toMatchObject({ valid: false, reason: 'revoked' });
    }
    // The rotation the other process opened is completed by the leak: its successor stays.
    expect((await store.listRotations({ clientId: 'rotated-meanwhile' }))[0]?.state).toBe('completed');
    const rows = await store.listAudit({});
    const revokedOf = (id: string) => rows.filter((a) => a.type === 'key.revoked' && a.keyId === id).length;
    expect([revokedOf(untouched.id), revokedOf(revokedMeanwhile.id), revokedOf(rotatedMeanwhile.id)]).toEqual([1, 1, 1]);
    expect(
      rows
        .filter((a) => a.type === 'key.leak_reported')
        .map((a) => a.data.outcome)
        .sort(),
    ).toEqual(['already_retired', 'revoked', 'revoked']);
  });
});
