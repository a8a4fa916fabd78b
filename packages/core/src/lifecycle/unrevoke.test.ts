import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { createKeyward, type Keyward } from '../keyward.js';
import { MemoryStore } from '../memory-store.js';
import type { KeywardOptions } from '../options.js';

const MIN = 60_000;
const made: Keyward[] = [];
function setup(extra: KeywardOptions = {}) {
  const store = new MemoryStore();
  const clock = new ManualClock(1_700_000_000_000);
  const keyward = createKeyward({ store, clock, lastUsed: { flushInterval: 0 }, ...extra });
  made.push(keyward);
  return { store, clock, keyward };
}

afterEach(async () => {
  for (const keyward of made.splice(0)) await keyward.close();
});

describe('unrevoke', () => {
  it('accepts a mistakenly revoked key again within the window, audited with actor and reason, in every process', async () => {
    const { store, clock, keyward } = setup();
    const other = createKeyward({ store, clock });
    made.push(other);
    const issued = await keyward.issue('acme');
    expect(await other.verify(issued.key)).toMatchObject({ valid: true });
    await keyward.revoke(issued.id, { reason: 'offboarding (wrong client)', actor: 'ops' });
    await other.catchUp();
    expect(await other.verify(issued.key)).toMatchObject({ valid: false, reason: 'revoked' });
    clock.advance(30 * MIN);
    const restored = await keyward.unrevoke(issued.id, { reason: 'revoked the wrong client', actor: 'alice' });
    expect(restored).toMatchObject({ status: 'active', revokedAt: null, revokedReason: null });
    await other.catchUp();
    expect(await other.verify(issued.key)).toMatchObject({ valid: true, clientId: 'acme' });
    expect(await keyward.verify(issued.key)).toMatchObject({ valid: true });
    const row = (await store.listAudit({})).find((a) => a.type === 'key.unrevoked');
    expect(row).toMatchObject({ actor: 'alice', reason: 'revoked the wrong client', fingerprint: issued.fingerprint });
    expect(await keyward.verifyAuditChain()).toMatchObject({ ok: true });
  });

  it('refuses past the window, and when the window is 0', async () => {
    const { clock, keyward } = setup({ unrevokeWindow: '10m' });
    const issued = await keyward.issue('acme');
    await keyward.revoke(issued.id, { reason: 'mistake' });
    clock.advance(10 * MIN + 1);
    await expect(keyward.unrevoke(issued.id, { reason: 'oops' })).rejects.toThrow(/revoked more than 10 min ago/);
    const off = setup({ unrevokeWindow: 0 });
    const key = await off.keyward.issue('acme');
    await off.keyward.revoke(key.id, { reason: 'mistake' });
    await expect(off.keyward.unrevoke(key.id, { reason: 'oops' })).rejects.toThrow(/disabled/);
  });

  it('refuses a key revoked as leaked or compromised', async () => {
    const { keyward } = setup();
    for (const reason of ['leaked', 'Compromised laptop', 'key exposed in logs']) {
      const issued = await keyward.issue(`c-${reason.length}`);
      await keyward.revoke(issued.id, { reason });
      await expect(keyward.unrevoke(issued.id, { reason: 'oops' })).rejects.toThrow(/revoked as exposed/);
      expect(await keyward.verify(issued.key)).toMatchObject({ valid: false, reason: 'revoked' });
    }
  });

  it('refuses a key that took part in a rotation, one whose client got a new key since, a purged key and a live key', async () => {
    const { clock, keyward, store } = setup({ retention: '1m' });
    await keyward.issue('rotating');
    const rotation = await keyward.rotate('rotating');
    await keyward.revoke(rotation.oldKeyId, { reason: 'mistake' });
    await expect(keyward.unrevoke(rotation.oldKeyId, { reason: 'oops' })).rejects.toThrow(/part of a rotation/);
    await keyward.rotate('rotating'); // fails: the rotation above completed early; the new key is active
    const replaced = await keyward.issue('replaced');
    await keyward.revoke(replaced.id, { reason: 'mistake' });
    await keyward.issue('replaced');
    await expect(keyward.unrevoke(replaced.id, { reason: 'oops' })).rejects.toThrow(/has been issued key .* since/);
    const live = await keyward.issue('live');
    await expect(keyward.unrevoke(live.id, { reason: 'oops' })).rejects.toThrow(/it is active, not revoked/);
    const purged = await keyward.issue('purged');
    await keyward.revoke(purged.id, { reason: 'mistake' });
    clock.advance(2 * MIN);
    await keyward.purge();
    await expect(keyward.unrevoke(purged.id, { reason: 'oops' })).rejects.toThrow(/purged key cannot be unrevoked/);
    expect((await store.listAudit({})).filter((a) => a.type === 'key.unrevoked')).toHaveLength(0);
  });

  it('needs a reason', async () => {
    const { keyward } = setup();
    const issued = await keyward.issue('acme');
    await keyward.revoke(issued.id, { reason: 'mistake' });
    await expect(keyward.unrevoke(issued.id, { reason: '' })).rejects.toThrow(/reason/);
  });
});
