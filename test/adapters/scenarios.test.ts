// ONE scenario list, run against every adapter, so they cannot drift apart:
// status, body `error` and headers exactly per DESIGN.md "HTTP behaviour of the adapters".
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyward, generateKey, type Keyward, type KeywardEvents, ManualClock } from '@keyward/core';
import { SqliteStore } from '@keyward/sqlite';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltApp, FRAMEWORKS } from './frameworks.js';
import { realSocketClient } from './real-socket.js';

const HOUR = 3_600_000;
const dir = mkdtempSync(join(tmpdir(), 'keyward-adapters-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let ipCounter = 0;
/** Each scenario comes from its own address (trusted X-Forwarded-For), so failures of one never rate-limit another. */
const nextIp = () => `203.0.113.${++ipCounter}`;

describe.each(FRAMEWORKS)('$name', (framework) => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  let store: SqliteStore;
  let keyward: Keyward;
  let app: BuiltApp;
  const rejected: KeywardEvents['key.rejected'][] = [];
  let client = 0;

  beforeAll(async () => {
    store = new SqliteStore({ path: join(dir, `${framework.name.replace(/\W+/g, '-')}.db`) });
    keyward = createKeyward({ store, clock, grace: '48h', keyLifetime: '30d' });
    keyward.on('key.rejected', (e) => {
      rejected.push(e);
    });
    app = await framework.build(keyward);
  });
  afterAll(async () => {
    await app.close();
    await keyward.close();
    await store.close();
  });

  const issue = (scopes: string[] = ['orders:read'], ttl?: string) =>
    keyward.issue(`client-${++client}`, { scopes, ...(ttl ? { ttl } : {}) });
  const get = (path: string, headers: Record<string, string> = {}, ip = nextIp()) => {
    let req = request(app.target as never)
      .get(path)
      .set('X-Forwarded-For', ip);
    for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
    return req;
  };
  const rotate = (key: string, idempotencyKey?: string, ip = nextIp()) => {
    const req = request(app.target as never)
      .post('/api-keys/rotate')
      .set('X-Forwarded-For', ip)
      .set('Authorization', `Bearer ${key}`);
    return idempotencyKey === undefined ? req : req.set('Idempotency-Key', idempotencyKey);
  };

  it('missing: 401 api_key_missing with a bare challenge', async () => {
    const res = await get('/orders');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'api_key_missing', message: expect.any(String) });
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api"');
    expect((await get('/health')).status).toBe(200);
  });

  it('malformed header: 400 invalid_request (empty Bearer, two different keys, other scheme, over-long)', async () => {
    const a = await issue();
    const b = await issue();
    for (const headers of [
      { Authorization: 'Bearer ' },
      { Authorization: `Bearer ${a.key}`, 'X-API-Key': b.key },
      { Authorization: 'Basic dXNlcjpwYXNz' },
      { 'X-API-Key': 'k'.repeat(600) },
    ]) {
      const res = await get('/orders', headers);
      expect(res.status, JSON.stringify(Object.keys(headers))).toBe(400);
      expect(res.body.error).toBe('invalid_request');
      expect(res.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_request"');
    }
    // the same key in both headers is fine
    expect((await get('/orders', { Authorization: `Bearer ${a.key}`, 'X-API-Key': a.key })).status).toBe(200);
  });

  it('duplicate headers over a real socket: two Authorization keys, or Authorization + X-API-Key with different keys: 400', async () => {
    const a = await issue();
    const b = await issue();
    const client = await realSocketClient(app);
    try {
      // A good request first: the connection now remembers a's key, and its fast path must not answer what follows.
      const first = await client.send('GET', '/orders', { 'X-Forwarded-For': nextIp(), Authorization: `Bearer ${a.key}` });
      expect(first.status).toBe(200);
      for (const headers of [
        { Authorization: [`Bearer ${a.key}`, `Bearer ${b.key}`] },
        { Authorization: [`Bearer ${a.key}`, 'Basic dXNlcjpwYXNz'] },
        { Authorization: [`Bearer ${a.key}`, `Bearer ${a.key}`, `Bearer ${b.key}`] },
        { Authorization: `Bearer ${a.key}`, 'X-API-Key': b.key },
        { Authorization: `Bearer ${a.key}`, 'X-API-Key': [a.key, b.key] },
        { 'X-API-Key': [a.key, b.key] },
      ]) {
        const res = await client.send('GET', '/orders', { 'X-Forwarded-For': nextIp(), ...headers });
        expect(res.status, JSON.stringify(headers)).toBe(400);
        expect(res.body.error).toBe('invalid_request');
        expect(res.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_request"');
        expect(res.localPort).toBe(first.localPort); // the same keep-alive connection
      }
      // the same key twice is one key
      const twice = await client.send('GET', '/orders', {
        'X-Forwarded-For': nextIp(),
        Authorization: [`Bearer ${a.key}`, `Bearer ${a.key}`],
      });
      expect(twice.status).toBe(200);
      expect(twice.body).toEqual({ clientId: a.clientId, fingerprint: a.fingerprint });
    } finally {
      await client.close();
    }
  });

  it('two Idempotency-Key headers a and b over a real socket: 400, and no rotation starts', async () => {
    const issued = await issue();
    const client = await realSocketClient(app);
    try {
      const res = await client.send('POST', '/api-keys/rotate', {
        'X-Forwarded-For': nextIp(),
        Authorization: `Bearer ${issued.key}`,
        'Idempotency-Key': ['a', 'b'],
      });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_request');
      expect(await keyward.listKeys(issued.clientId)).toHaveLength(1);
      const one = await client.send('POST', '/api-keys/rotate', {
        'X-Forwarded-For': nextIp(),
        Authorization: `Bearer ${issued.key}`,
        'Idempotency-Key': 'a, b',
      });
      expect(one.status).toBe(201); // one header whose token has a comma is one token
    } finally {
      await client.close();
    }
  });

  it('a handler pushing into req.apiKey.scopes grants nothing: the key is frozen for this and later requests', async () => {
    const reader = await issue(['orders:read']);
    for (let i = 0; i < 2; i++) {
      const res = await get('/tamper', { 'X-API-Key': reader.key });
      expect(res.status).toBe(200);
      expect(res.body.granted).toBe(false);
    }
    const admin = await get('/admin', { 'X-API-Key': reader.key });
    expect(admin.status).toBe(403);
  });

  it('unknown key or bad checksum: 401 api_key_invalid with error="invalid_token"', async () => {
    const issued = await issue();
    for (const key of [generateKey('sk_live'), `${issued.key.slice(0, -1)}${issued.key.endsWith('A') ? 'B' : 'A'}`]) {
      const res = await get('/orders', { 'X-API-Key': key });
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('api_key_invalid');
      expect(res.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"');
    }
  });

  it('valid: 200 through Bearer or X-API-Key, the key reaches the handler, no Sunset', async () => {
    const issued = await issue();
    for (const headers of [{ Authorization: `Bearer ${issued.key}` }, { 'X-API-Key': issued.key }]) {
      const res = await get('/orders', headers);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ clientId: issued.clientId, fingerprint: issued.fingerprint });
      expect(res.headers.sunset).toBeUndefined();
      expect(res.headers.deprecation).toBeUndefined();
    }
  });

  it('missing scope: 403 insufficient_scope naming the scope', async () => {
    const reader = await issue(['orders:read']);
    const res = await get('/admin', { 'X-API-Key': reader.key });
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('insufficient_scope');
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api", error="insufficient_scope", scope="orders:write"');
    const writer = await issue(['orders:read', 'orders:write']);
    expect((await get('/admin', { 'X-API-Key': writer.key })).status).toBe(200);
  });

  it('grace: the old key passes with Sunset (grace end) and Deprecation; inactive after grace, with a key.rejected event', async () => {
    const issued = await issue();
    const startedAt = clock.now();
    const rotation = await keyward.rotate(issued.clientId);
    const old = await get('/orders', { 'X-API-Key': issued.key });
    expect(old.status).toBe(200);
    expect(old.headers.sunset).toBe(new Date(rotation.graceUntil).toUTCString());
    // RFC 9745: when the deprecation took effect (the rotation's start), the same on every response
    expect(old.headers.deprecation).toBe(`@${Math.floor(startedAt / 1000)}`);
    clock.advance(HOUR);
    const later = await get('/orders', { 'X-API-Key': issued.key });
    expect(later.headers.deprecation).toBe(`@${Math.floor(startedAt / 1000)}`);
    const cold = createKeyward({ store, clock }); // read from the store, not this process's LRU
    const coldApp = await framework.build(cold);
    try {
      const fromStore = await request(coldApp.target as never)
        .get('/orders')
        .set('X-API-Key', issued.key);
      expect(fromStore.headers.deprecation).toBe(`@${Math.floor(startedAt / 1000)}`);
    } finally {
      await coldApp.close();
      await cold.close();
    }
    clock.advance(47 * HOUR);
    const fresh = await get('/orders', { 'X-API-Key': rotation.key as string });
    expect(fresh.status).toBe(200);
    expect(fresh.headers.sunset).toBeUndefined();

    const ip = nextIp();
    const res = await get('/orders', { 'X-API-Key': issued.key }, ip);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('api_key_expired');
    expect(res.headers['www-authenticate']).toContain('Bearer realm="api", error="invalid_token"');
    expect(rejected.at(-1)).toMatchObject({
      reason: 'inactive',
      fingerprint: issued.fingerprint,
      clientId: issued.clientId,
      context: { method: 'GET', path: '/orders', ip },
    });
  });

  it('revoked: 401 api_key_revoked, with a key.rejected event carrying method, path and ip', async () => {
    const issued = await issue();
    await keyward.revoke(issued.id, { reason: 'leaked' });
    const ip = nextIp();
    const res = await get('/orders', { Authorization: `Bearer ${issued.key}` }, ip);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('api_key_revoked');
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="api", error="invalid_token"/);
    expect(rejected.at(-1)).toMatchObject({
      reason: 'revoked',
      clientId: issued.clientId,
      context: { method: 'GET', path: '/orders', ip },
    });
  });

  it('expired: 401 api_key_expired past expires_at', async () => {
    const issued = await issue(['orders:read'], '1h');
    expect((await get('/orders', { 'X-API-Key': issued.key })).status).toBe(200);
    clock.advance(HOUR);
    const res = await get('/orders', { 'X-API-Key': issued.key });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('api_key_expired');
    expect(res.headers['www-authenticate']).toBeDefined();
  });

  it('rate-limited: one source guessing 10 times gets 429 + Retry-After for the next guess, but its valid key passes; other sources do not', async () => {
    const issued = await issue();
    const ip = nextIp();
    expect((await get('/orders', { 'X-API-Key': issued.key }, ip)).status).toBe(200);
    for (let i = 0; i < 10; i++) expect((await get('/orders', { 'X-API-Key': generateKey('sk_live') }, ip)).status).toBe(401);
    const res = await get('/orders', { 'X-API-Key': generateKey('sk_live') }, ip);
    expect(res.status).toBe(429);
    expect(res.body.error).toBe('too_many_attempts');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect((await get('/orders', { 'X-API-Key': 'sk_live_garbage' }, ip)).status).toBe(429);
    expect((await get('/orders', { 'X-API-Key': issued.key }, ip)).status).toBe(200); // a key that verifies is never refused
    expect((await get('/orders', { 'X-API-Key': generateKey('sk_live') })).status).toBe(401);
  });

  it('retired keys are not guesses: 50 uses of an inactive and a revoked key from one address leave its budget whole', async () => {
    const ip = nextIp();
    const old = await issue();
    const rotation = await keyward.rotate(old.clientId);
    await keyward.finalize(rotation.rotationId);
    const revoked = await issue();
    await keyward.revoke(revoked.id, { reason: 'test' });
    const healthy = await issue();
    for (let i = 0; i < 50; i++) {
      expect((await get('/orders', { 'X-API-Key': old.key }, ip)).body.error).toBe('api_key_expired');
      expect((await get('/orders', { 'X-API-Key': revoked.key }, ip)).body.error).toBe('api_key_revoked');
      expect((await get('/orders', { 'X-API-Key': healthy.key }, ip)).status).toBe(200);
    }
    expect((await get('/orders', { 'X-API-Key': generateKey('sk_live') }, ip)).status).toBe(401);
  });

  it('one budget per source: guesses on the API count on the rotate route, and the other way round', async () => {
    const apiFirst = nextIp();
    for (let i = 0; i < 10; i++) expect((await get('/orders', { 'X-API-Key': generateKey('sk_live') }, apiFirst)).status).toBe(401);
    const refused = await rotate(generateKey('sk_live'), undefined, apiFirst);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toBe('too_many_attempts');
    const rotateFirst = nextIp();
    for (let i = 0; i < 10; i++) expect((await rotate(generateKey('sk_live'), undefined, rotateFirst)).status).toBe(401);
    expect((await get('/orders', { 'X-API-Key': generateKey('sk_live') }, rotateFirst)).status).toBe(429);
    // A valid key rotates from an over-budget source: it verifies.
    const issued = await issue();
    expect((await get('/orders', { 'X-API-Key': issued.key }, rotateFirst)).status).toBe(200);
    expect((await rotate(issued.key, undefined, rotateFirst)).status).toBe(201);
  });

  it('unavailable: 503 auth_unavailable + Retry-After when the store rejects and the key is not cached', async () => {
    const issued = await issue();
    const down = new SqliteStore({ path: store.filename });
    await down.close(); // every method now rejects with KEYWARD_UNAVAILABLE
    const cold = createKeyward({ store: down, clock }); // its LRU is empty
    const downApp = await framework.build(cold);
    try {
      const res = await request(downApp.target as never)
        .get('/orders')
        .set('X-API-Key', issued.key);
      expect(res.status).toBe(503);
      expect(res.body.error).toBe('auth_unavailable');
      expect(res.headers['retry-after']).toBe('5');
    } finally {
      await downApp.close();
      await cold.close();
    }
  });

  it('self-service rotate: 201 with the new key once, its fingerprint and the old key sunset; both keys work', async () => {
    const issued = await issue();
    const res = await rotate(issued.key);
    expect(res.status).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({
      key: expect.stringMatching(/^sk_live_/),
      fingerprint: expect.stringMatching(/^[0-9a-f]{8}$/),
      oldFingerprint: issued.fingerprint,
      // Grace from first use (the self-service default): until then, the latest end (maxWait, 7d).
      sunset: new Date(clock.now() + 7 * 24 * HOUR).toISOString(),
      replayed: false,
    });
    expect(res.headers.sunset).toBe(new Date(clock.now() + 7 * 24 * HOUR).toUTCString());
    expect(res.headers.deprecation).toBe(`@${Math.floor(clock.now() / 1000)}`);
    const fresh = await get('/orders', { 'X-API-Key': res.body.key });
    expect(fresh.body).toEqual({ clientId: issued.clientId, fingerprint: res.body.fingerprint });
    expect((await get('/orders', { 'X-API-Key': issued.key })).headers.sunset).toBeDefined();
    expect((await rotate('sk_live_nope')).status).toBe(401);
  });

  it('idempotent retry: the same Idempotency-Key gets the same rotation (200, no key); a new request gets 409', async () => {
    const issued = await issue();
    const startedAt = clock.now();
    const first = await rotate(issued.key, 'retry-me-1');
    expect(first.status).toBe(201);
    clock.advance(HOUR);
    const retry = await rotate(issued.key, 'retry-me-1');
    expect(retry.status).toBe(200);
    expect(retry.headers.deprecation).toBe(`@${Math.floor(startedAt / 1000)}`); // the rotation's start, not now
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toMatchObject({ rotationId: first.body.rotationId, fingerprint: first.body.fingerprint, replayed: true });
    expect(retry.body).not.toHaveProperty('key');
    const other = await rotate(issued.key, 'another-token');
    expect(other.status).toBe(409);
    expect(other.body.error).toBe('rotation_in_progress');
    expect(await keyward.listKeys(issued.clientId)).toHaveLength(2);
  });
});
