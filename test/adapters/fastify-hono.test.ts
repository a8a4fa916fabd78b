// What the Fastify plugin and the Hono middleware add to the shared scenario list: route
// opt-outs and per-route scopes (Fastify), hooks, option checks, and Hono without Node's
// request (the Web `Request` path that other runtimes take).
import { createKeyward, type Keyward } from '@keyward/core';
import { apiKeyAuth as fastifyAuth } from '@keyward/fastify';
import { type ApiKeyEnv, apiKeyAuth as honoAuth, apiKeyRotation as honoRotation } from '@keyward/hono';
import { SqliteStore } from '@keyward/sqlite';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let keyward: Keyward;
beforeAll(() => {
  keyward = createKeyward({ store: new SqliteStore({ path: ':memory:' }) });
});
afterAll(async () => {
  await keyward.close();
  await keyward.store.close();
});

describe('@keyward/fastify', () => {
  it('public paths and config.apiKey:false need no key; request.apiKey is null there; the 404 route needs a key', async () => {
    const app = Fastify();
    await app.register(fastifyAuth, { keyward, public: ['/health'] });
    app.get('/health', async (request) => ({ apiKey: request.apiKey }));
    app.get('/docs', { config: { apiKey: false } }, async (request) => ({ apiKey: request.apiKey }));
    app.get('/orders', async (request) => ({ clientId: request.apiKey?.clientId }));
    const { key } = await keyward.issue('fastify-public');
    expect((await app.inject({ url: '/health?x=1' })).json()).toEqual({ apiKey: null });
    expect((await app.inject({ url: '/docs' })).json()).toEqual({ apiKey: null });
    expect((await app.inject({ url: '/orders' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/nowhere' })).statusCode).toBe(401);
    const ok = await app.inject({ url: '/orders', headers: { authorization: `Bearer ${key}` } });
    expect(ok.json()).toEqual({ clientId: 'fastify-public' });
    await app.close();
  });

  it('per-route scopes: 403 insufficient_scope without them, 200 with them', async () => {
    const app = Fastify();
    await app.register(fastifyAuth, { keyward, realm: 'shop' });
    app.get('/admin', { config: { apiKey: { scopes: ['admin'] } } }, async () => 'ok');
    const reader = await keyward.issue('fastify-reader', { scopes: ['read'] });
    const admin = await keyward.issue('fastify-admin', { scopes: ['admin'] });
    const refused = await app.inject({ url: '/admin', headers: { authorization: `Bearer ${reader.key}` } });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error).toBe('insufficient_scope');
    expect(refused.headers['www-authenticate']).toBe('Bearer realm="shop", error="insufficient_scope", scope="admin"');
    expect((await app.inject({ url: '/admin', headers: { authorization: `Bearer ${admin.key}` } })).statusCode).toBe(200);
    await app.close();
  });

  it('a bad route scope fails when the route is declared, naming the route', async () => {
    const app = Fastify();
    await app.register(fastifyAuth, { keyward });
    expect(() => app.get('/x', { config: { apiKey: { scopes: ['has space'] } } }, async () => 'x')).toThrow(
      /route GET \/x: config.apiKey.scopes/,
    );
    await app.close();
  });

  it('options are validated at register, naming the option', async () => {
    const app = Fastify();
    app.register(fastifyAuth, { keyward, realm: 1 as never });
    await expect(app.ready()).rejects.toThrow(/@keyward\/fastify: option "realm"/);
    const other = Fastify();
    other.register(fastifyAuth, { keyward, public: ['no-slash'] });
    await expect(other.ready()).rejects.toThrow(/@keyward\/fastify: option "public"/);
  });

  it('onError: a hook that throws hands the error to Fastify’s error handler with its status', async () => {
    const app = Fastify();
    await app.register(fastifyAuth, {
      keyward,
      onError: (error) => {
        throw error;
      },
    });
    app.setErrorHandler((error: { status?: number; headers?: Record<string, string> }, _request, reply) => {
      reply
        .code(error.status ?? 500)
        .headers(error.headers ?? {})
        .send({ handled: true });
    });
    app.get('/x', async () => 'x');
    const res = await app.inject({ url: '/x' });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ handled: true });
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api"');
    await app.close();
  });
});

describe('@keyward/hono', () => {
  it('on the Web Request path (no Node request): verifies, and refuses two Authorization headers joined by Headers', async () => {
    const app = new Hono<ApiKeyEnv>();
    app.use(honoAuth({ keyward }));
    app.get('/me', (c) => c.json({ clientId: c.get('apiKey').clientId }));
    const a = await keyward.issue('hono-a');
    const b = await keyward.issue('hono-b');
    const ok = await app.request('/me', { headers: { authorization: `Bearer ${a.key}` } });
    expect(await ok.json()).toEqual({ clientId: 'hono-a' });
    const headers = new Headers();
    headers.append('authorization', `Bearer ${a.key}`);
    headers.append('authorization', `Bearer ${b.key}`);
    const joined = await app.request('/me', { headers });
    expect(joined.status).toBe(400);
    expect(((await joined.json()) as { error: string }).error).toBe('invalid_request');
    const missing = await app.request('/me');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="api"');
  });

  it('onError returns the response; a throwing hook reaches app.onError', async () => {
    const custom = new Hono();
    custom.use(honoAuth({ keyward, onError: (error, c) => c.text(`no: ${error.body.error}`, 418) }));
    custom.get('/x', (c) => c.text('x'));
    const res = await custom.request('/x');
    expect(res.status).toBe(418);
    expect(await res.text()).toBe('no: api_key_missing');

    const thrown = new Hono();
    thrown.use(
      honoAuth({
        keyward,
        onError: (error) => {
          throw error;
        },
      }),
    );
    thrown.onError((error, c) => c.json({ handled: true }, (error as unknown as { status: 401 }).status));
    thrown.get('/x', (c) => c.text('x'));
    const handled = await thrown.request('/x');
    expect(handled.status).toBe(401);
    expect(await handled.json()).toEqual({ handled: true });
  });

  it('self-service rotation as a route handler: 201 with the new key, then the same Idempotency-Key replays with 200', async () => {
    const app = new Hono<ApiKeyEnv>();
    app.post('/api-keys/rotate', honoRotation({ keyward }));
    const { key } = await keyward.issue('hono-rotate');
    const headers = { authorization: `Bearer ${key}`, 'idempotency-key': 'once' };
    const first = await app.request('/api-keys/rotate', { method: 'POST', headers });
    expect(first.status).toBe(201);
    expect(typeof ((await first.json()) as { key?: string }).key).toBe('string');
    const again = await app.request('/api-keys/rotate', { method: 'POST', headers });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { key?: string }).key).toBeUndefined();
  });

  it('options are validated at construction, naming the option', () => {
    expect(() => honoAuth({ keyward, realm: 1 as never })).toThrow(/@keyward\/hono: option "realm"/);
    expect(() => honoAuth({ keyward, clientIp: 'x' as never })).toThrow(/@keyward\/hono: option "clientIp"/);
    expect(() => honoAuth({ keyward }).requireScopes()).toThrow(/requireScopes/);
  });
});
