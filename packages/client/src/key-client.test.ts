import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeyClientError } from './errors.js';
import type { KeyClientEventMap } from './events.js';
import { createKeyClient } from './key-client.js';
import { EnvStore } from './stores/env-store.js';
import { FileStore } from './stores/file-store.js';
import { MemoryKeyStore } from './stores/memory-store.js';
import { type RealApi, startRealApi } from './test-support/real-api.js';

const dir = mkdtempSync(join(tmpdir(), 'keyward-client-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let api: RealApi;
let n = 0;
beforeEach(async () => {
  api = await startRealApi();
});
afterEach(async () => {
  await api.close();
});

class TestClock {
  constructor(public t = Date.now()) {}
  now = () => this.t;
}

async function issueToFile(clientId = `c${++n}`) {
  const issued = await api.keyward.issue(clientId);
  const path = join(dir, `${clientId}.json`);
  writeFileSync(path, `${issued.key}\n`, { mode: 0o600 });
  return { issued, path };
}

function recordEvents(client: ReturnType<typeof createKeyClient>) {
  const events: { name: string; payload: unknown }[] = [];
  for (const name of ['rotated', 'rotation.failed', 'key.rejected'] as (keyof KeyClientEventMap)[]) {
    client.on(name, (payload) => events.push({ name, payload }));
  }
  return events;
}

const until = async (check: () => boolean | Promise<boolean>, ms = 3000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('createKeyClient against a real keyward API', () => {
  it('adopts a key written into the file while it was loading the first one', async () => {
    const { path } = await issueToFile();
    const next = await api.keyward.issue(`c${++n}`);
    const store = new FileStore({ path });
    const load = store.load.bind(store);
    let first = true;
    // The write lands right after the first read: before this fix the watch started after
    // the load, missed it, and the process kept the old key.
    store.load = async () => {
      const state = await load();
      if (first) {
        first = false;
        writeFileSync(path, `${next.key}\n`, { mode: 0o600 });
      }
      return state;
    };
    const client = createKeyClient({ baseUrl: api.baseUrl, store });
    await client.currentFingerprint();
    await until(async () => (await client.currentFingerprint()) === `sha256:${next.fingerprint}`);
    client.close();
  });

  it('adds the key to requests for its origin only', async () => {
    const { issued, path } = await issueToFile();
    const seen: (string | undefined)[] = [];
    const other = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.end('ok');
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    const client = createKeyClient({ baseUrl: api.baseUrl, store: new FileStore({ path }) });
    const res = await client.fetch(`${api.baseUrl}/orders`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { client: string }).client).toBe(issued.clientId);
    await client.fetch(`http://127.0.0.1:${(other.address() as AddressInfo).port}/x`);
    expect(seen).toEqual([undefined]);
    other.close();
  });

  it('Sunset on the key in use: exactly one rotation, saved (0600) before use, old key kept until the new one was accepted', async () => {
    const { issued, path } = await issueToFile();
    await api.keyward.rotate(issued.clientId); // operator rotation: the old key now carries Sunset
    const client = createKeyClient({ baseUrl: api.baseUrl, store: new FileStore({ path }) });
    const events = recordEvents(client);
    const burst = await Promise.all(Array.from({ length: 10 }, () => client.fetch(`${api.baseUrl}/orders`)));
    expect(burst.every((r) => r.status === 200)).toBe(true);
    expect(burst[0]?.headers.get('sunset')).not.toBeNull();
    await until(() => events.some((e) => e.name === 'rotated' || e.name === 'rotation.failed'));
    // The operator's successor was never used: the client asks once, then once more to reissue it.
    // Until the server reissues an unused successor, the client asks once (then to reissue) and backs off.
    expect(events.map((e) => e.name)).toEqual(['rotation.failed']);
    expect(api.hits.get('/api-keys/rotate')).toBe(2);
    expect((await client.fetch(`${api.baseUrl}/orders`)).status).toBe(200);
    expect(api.hits.get('/api-keys/rotate')).toBe(2);
  });

  it('explicit rotate(): one call for concurrent callers, new key durable and in use, previous dropped after acceptance', async () => {
    const { issued, path } = await issueToFile();
    const client = createKeyClient({ baseUrl: api.baseUrl, store: new FileStore({ path }) });
    const events = recordEvents(client);
    const [a, b] = await Promise.all([client.rotate(), client.rotate()]);
    expect(a).toBe(b);
    expect(api.hits.get('/api-keys/rotate')).toBe(1);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(path, 'utf8'));
    expect(saved.current.fingerprint).toBe(a);
    expect(saved.previous.key).toBe(issued.key);
    expect(saved.pending).toBeNull();
    const res = await client.fetch(`${api.baseUrl}/orders`);
    expect(((await res.json()) as { fingerprint: string }).fingerprint).toBe(a);
    await until(() => JSON.parse(readFileSync(path, 'utf8')).previous === null);
    const rotated = events.find((e) => e.name === 'rotated')?.payload as KeyClientEventMap['rotated'];
    expect(rotated).toMatchObject({ from: expect.any(String), to: a, how: 'rotated' });
    expect(JSON.stringify(events)).not.toContain(issued.key);
    expect(JSON.stringify(events)).not.toContain(await client.currentKey());
  });

  it('self rotation then Sunset on the old key does not rotate again (one rotation per key)', async () => {
    const { path } = await issueToFile();
    const a = createKeyClient({ baseUrl: api.baseUrl, store: new FileStore({ path }) });
    const b = createKeyClient({ baseUrl: api.baseUrl, store: new FileStore({ path }) });
    await b.currentKey(); // b loaded the old key
    await a.rotate();
    const res = await b.fetch(`${api.baseUrl}/orders`); // old key, in grace: Sunset → b adopts a's key from the file
    expect(res.status).toBe(200);
    await until(async () => (await b.currentFingerprint()) === (await a.currentFingerprint()));
    expect(api.hits.get('/api-keys/rotate')).toBe(1);
    a.close();
    b.close();
  });

  it('401 api_key_expired is retried once with the newest stored key (the body too); other 401s are not retried', async () => {
    const { issued, path } = await issueToFile();
    const a = createKeyClient({ baseUrl: api.baseUrl, store: new FileStore({ path }) });
    const b = createKeyClient({ baseUrl: api.baseUrl, store: new FileStore({ path }) });
    const g = createKeyClient({ baseUrl: api.baseUrl, store: new FileStore({ path }) });
    await b.currentKey();
    await g.currentKey();
    b.close(); // b and g do not watch: they learn of the new key only from the 401
    g.close();
    const fp = await a.rotate();
    await a.fetch(`${api.baseUrl}/orders`); // first use of the new key starts the old key's grace
    api.clock.advance(2 * 3600_000); // the old key's grace (1h) is over
    const before = api.hits.get('/echo') ?? 0;
    const res = await b.fetch(`${api.baseUrl}/echo`, { method: 'POST', body: 'hello' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ body: 'hello', fingerprint: fp });
    expect((api.hits.get('/echo') ?? 0) - before).toBe(2);
    // The same through a Request object (its body cloned for the retry).
    const d = createKeyClient({ baseUrl: api.baseUrl, store: new MemoryKeyStore(issued.key) });
    const viaRequest = await d.fetch(new Request(`${api.baseUrl}/echo`, { method: 'POST', body: 'again' }));
    expect(viaRequest.status).toBe(401); // a memory store has no newer key: not retried

    const viaRequestRetried = await g.fetch(new Request(`${api.baseUrl}/echo`, { method: 'POST', body: 'as a Request' }));
    expect(await viaRequestRetried.json()).toEqual({ body: 'as a Request', fingerprint: fp });

    const stranger = join(dir, 'stranger.key');
    writeFileSync(stranger, `${issued.key.slice(0, -2)}xx\n`);
    const c = createKeyClient({ baseUrl: api.baseUrl, store: new FileStore({ path: stranger }) });
    const events = recordEvents(c);
    const beforeBad = api.hits.get('/orders') ?? 0;
    expect((await c.fetch(`${api.baseUrl}/orders`)).status).toBe(401);
    expect((api.hits.get('/orders') ?? 0) - beforeBad).toBe(1);
    expect(events).toEqual([{ name: 'key.rejected', payload: expect.objectContaining({ status: 401 }) }]);
    a.close();
  });

  it('endpoint down: requests go on with the old key, one failure per backoff, then a clear error after the sunset', async () => {
    const { issued, path } = await issueToFile();
    await api.keyward.rotate(issued.clientId, { grace: '1h' } as never).catch(() => api.keyward.rotate(issued.clientId));
    api.rotateDown = true;
    const clock = new TestClock();
    const client = createKeyClient({ baseUrl: api.baseUrl, store: new FileStore({ path }), clock, backoffInitial: 1000 });
    const events = recordEvents(client);
    for (let i = 0; i < 5; i++) expect((await client.fetch(`${api.baseUrl}/orders`)).status).toBe(200);
    await until(() => events.some((e) => e.name === 'rotation.failed'));
    expect(api.hits.get('/api-keys/rotate')).toBe(1); // backing off: no loop
    clock.t += 1500;
    expect((await client.fetch(`${api.baseUrl}/orders`)).status).toBe(200);
    await until(() => events.filter((e) => e.name === 'rotation.failed').length === 2);
    const sunset = Date.parse((await client.fetch(`${api.baseUrl}/orders`)).headers.get('sunset') as string);
    clock.t = sunset + 1;
    const error = await client.fetch(`${api.baseUrl}/orders`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KeyClientError);
    expect((error as KeyClientError).code).toBe('key_expired');
    expect((error as KeyClientError).message).toMatch(/api-keys\/rotate is reachable, or put a new key in the key store/);
    expect(`${(error as Error).message}${(error as Error).stack}${JSON.stringify(events)}`).not.toContain(issued.key);
  });

  it('rotates when the known expiresAt is within rotateBefore', async () => {
    const issued = await api.keyward.issue(`c${++n}`, { ttl: '2d' });
    const path = join(dir, `${issued.clientId}.json`);
    const expiresAt = new Date(issued.expiresAt as number).toISOString();
    writeFileSync(path, JSON.stringify({ current: { key: issued.key, fingerprint: issued.fingerprint, expiresAt } }), { mode: 0o600 });
    const clock = new TestClock();
    const client = createKeyClient({ baseUrl: api.baseUrl, store: new FileStore({ path }), clock, rotateBefore: 24 * 3600_000 });
    const events = recordEvents(client);
    await client.fetch(`${api.baseUrl}/orders`);
    expect(api.hits.get('/api-keys/rotate')).toBeUndefined();
    clock.t += 25 * 3600_000; // now within a day of its expiry
    expect((await client.fetch(`${api.baseUrl}/orders`)).status).toBe(200);
    await until(() => events.length > 0);
    expect(events.map((e) => e.name)).toEqual(['rotated']);
    expect(api.hits.get('/api-keys/rotate')).toBe(1);
  });

  it('a lost rotation answer: the restarted client retries the same call, gets a replay without the key, and has the unused successor reissued', async () => {
    const { issued, path } = await issueToFile();
    api.loseNextRotateResponse = true;
    const crashed = createKeyClient({ baseUrl: api.baseUrl, store: new FileStore({ path }) });
    await expect(crashed.rotate()).rejects.toMatchObject({ code: 'rotation_failed' });
    crashed.close();
    const pending = JSON.parse(readFileSync(path, 'utf8')).pending;
    expect(pending.idempotencyKey).toEqual(expect.any(String)); // saved before the call
    const restarted = createKeyClient({ baseUrl: api.baseUrl, store: new FileStore({ path }) });
    const events = recordEvents(restarted);
    const fp = await restarted.rotate();
    expect(api.hits.get('/api-keys/rotate')).toBe(3); // lost, replayed (no key), reissued
    const res = await restarted.fetch(`${api.baseUrl}/orders`);
    expect(((await res.json()) as { fingerprint: string }).fingerprint).toBe(fp);
    expect(events.map((e) => e.name)).toEqual(['rotated']);
    const rotations = await api.keyward.listRotations(issued.clientId);
    expect(rotations.map((r) => r.state).sort()).toEqual(['aborted', 'delivered']);
    restarted.close();
  });

  it('an env store never rotates: it warns once', async () => {
    const issued = await api.keyward.issue(`c${++n}`);
    await api.keyward.rotate(issued.clientId);
    const warnings: unknown[] = [];
    const client = createKeyClient({
      baseUrl: api.baseUrl,
      store: new EnvStore({ env: { KEYWARD_API_KEY: issued.key } }),
      logger: { warn: (o) => warnings.push(o) },
    });
    const events = recordEvents(client);
    for (let i = 0; i < 3; i++) expect((await client.fetch(`${api.baseUrl}/orders`)).status).toBe(200);
    expect(api.hits.get('/api-keys/rotate')).toBeUndefined();
    expect(events.map((e) => e.name)).toEqual(['rotation.failed']);
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings)).not.toContain(issued.key);
    await expect(client.rotate()).rejects.toMatchObject({ code: 'read_only_store' });
  });

  it('an empty store: a clear no_key error', async () => {
    const client = createKeyClient({ baseUrl: api.baseUrl, store: new FileStore({ path: join(dir, 'missing.key') }) });
    await expect(client.fetch(`${api.baseUrl}/orders`)).rejects.toMatchObject({ code: 'no_key' });
  });
});
