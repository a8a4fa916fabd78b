import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyward, type Keyward } from '@keyward/core';
import { SqliteStore } from '@keyward/sqlite';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Child, requireBuilt } from './child.js';

/**
 * A verifier process (its own Keyward, SqliteStore and SqliteChangeFeed) checks a
 * key in a loop; this process revokes the key through its own Keyward on the same
 * file. The verifier's LRU would keep the key for 60 s: only the change feed can
 * make it notice within a second.
 */
describe('SQLite change feed between processes', () => {
  let dir: string;
  let file: string;
  let admin: Keyward;
  const children: Child[] = [];

  beforeAll(requireBuilt);
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'keyward-feed-e2e-'));
    file = join(dir, 'keys.db');
    admin = createKeyward({ store: new SqliteStore({ path: file }) });
  });
  afterEach(async () => {
    for (const c of children.splice(0)) await c.kill();
    await admin.close();
    await admin.store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function startVerifier(mode: 'bus' | 'nobus') {
    const issued = await admin.issue('acme');
    const child = new Child('verifier.mjs', [file, issued.key, mode]);
    children.push(child);
    await child.waitFor((m) => m.state === 'valid');
    // Let the verifier run from its LRU for a few poll cycles first.
    await new Promise((r) => setTimeout(r, 300));
    return { child, issued };
  }

  it('reports a key revoked in another process within 1 second', async () => {
    const { child, issued } = await startVerifier('bus');
    const before = Date.now();
    await admin.revoke(issued.id, { reason: 'compromised', actor: 'test' });
    const revokedAt = Date.now();
    const seen = await child.waitFor((m) => m.state === 'revoked', 5000);
    const latency = (seen.at as number) - revokedAt;
    console.info(`revocation reached the other process ${latency} ms after commit (${(seen.at as number) - before} ms after the call)`);
    expect(latency).toBeLessThan(1000);
    // Nothing but valid → revoked: the verifier never lost the key or went unavailable.
    expect(child.messages.map((m) => m.state)).toEqual(['valid', 'revoked']);
  });

  it('control: without the feed, the same verifier keeps accepting the revoked key from its LRU', async () => {
    const { child, issued } = await startVerifier('nobus');
    await admin.revoke(issued.id, { reason: 'compromised' });
    await new Promise((r) => setTimeout(r, 1200));
    expect(child.messages.map((m) => m.state)).toEqual(['valid']);
    expect((await admin.verify(issued.key)).valid).toBe(false);
  });
});
