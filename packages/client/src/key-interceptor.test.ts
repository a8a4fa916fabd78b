import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeyClientEventMap } from './events.js';
import { createKeyClient } from './key-client.js';
import { FileStore } from './stores/file-store.js';
import { type RealApi, startRealApi } from './test-support/real-api.js';

const dir = mkdtempSync(join(tmpdir(), 'keyward-interceptor-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let api: RealApi;
beforeEach(async () => {
  api = await startRealApi();
});
afterEach(() => api.close());

/** Node's own undici Agent (the one its fetch uses): it has `compose` since undici 6. */
async function nodeGlobalDispatcher(): Promise<{ compose(i: unknown): unknown }> {
  await fetch(`${api.baseUrl}/health`).catch(() => undefined); // makes Node create it
  return (globalThis as Record<symbol, { compose(i: unknown): unknown }>)[Symbol.for('undici.globalDispatcher.1')] as never;
}

describe('client.interceptor (undici)', () => {
  it('adds the key for its origin and rotates on Sunset like the fetch', async () => {
    const issued = await api.keyward.issue('intercepted');
    const path = join(dir, 'k.key');
    writeFileSync(path, `${issued.key}\n`, { mode: 0o600 });
    const a = createKeyClient({ baseUrl: api.baseUrl, store: new FileStore({ path }) });
    const b = createKeyClient({ baseUrl: api.baseUrl, store: new FileStore({ path }) });
    const dispatcher = (await nodeGlobalDispatcher()).compose(b.interceptor);
    const events: KeyClientEventMap['rotated'][] = [];
    b.on('rotated', (e) => events.push(e));

    const first = await fetch(`${api.baseUrl}/orders`, { dispatcher } as RequestInit);
    expect(first.status).toBe(200);
    b.close(); // b no longer watches the file: only the Sunset header can tell it
    const fp = await a.rotate();
    const inGrace = await fetch(`${api.baseUrl}/orders`, { dispatcher } as RequestInit);
    expect(inGrace.status).toBe(200);
    expect(inGrace.headers.get('sunset')).not.toBeNull();
    const deadline = Date.now() + 3000;
    while (events.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(events[0]).toMatchObject({ to: fp, how: 'adopted' });
    const after = await fetch(`${api.baseUrl}/orders`, { dispatcher } as RequestInit);
    expect(((await after.json()) as { fingerprint: string }).fingerprint).toBe(fp);
    expect(api.hits.get('/api-keys/rotate')).toBe(1);
    a.close();
  });
});
