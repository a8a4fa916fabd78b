import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Keyward, ManualClock, MemoryStore, silentLogger } from '@keyward/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { keywardAdmin } from './admin.js';
import { API_ROUTES } from './api/routes.js';
import * as S from './api/schemas.js';
import { cookieOf, SAME_ORIGIN, serve } from './testing/serve.js';

const T0 = Date.UTC(2026, 5, 1, 9, 0, 0);

describe('keywardAdmin', () => {
  let keyward: Keyward;
  let store: MemoryStore;
  let clock: ManualClock;
  const closers: (() => Promise<void>)[] = [];

  beforeEach(() => {
    store = new MemoryStore();
    clock = new ManualClock(T0);
    keyward = new Keyward({ store, clock, logger: silentLogger });
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await keyward.close();
  });

  async function start(options: Omit<Parameters<typeof keywardAdmin>[0], 'keyward'> = {}) {
    const admin = keywardAdmin({ keyward, ...options });
    const server = await serve(admin);
    closers.push(admin.close, server.close);
    return { admin, url: server.url };
  }

  async function login(url: string, key: string): Promise<string> {
    const response = await fetch(`${url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { ...SAME_ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ key }),
    });
    expect(response.status).toBe(303);
    return cookieOf(response);
  }

  it('validates its options at construction, naming the option', () => {
    expect(() => keywardAdmin({} as never)).toThrow(/option "keyward"/);
    expect(() => keywardAdmin({ keyward, adminKeys: { prefix: 'sk_live' } })).toThrow(/adminKeys.prefix/);
    expect(() => keywardAdmin({ keyward, adminKeys: { prefix: 'Bad Prefix' } })).toThrow(/adminKeys.prefix/);
    expect(() => keywardAdmin({ keyward, sessionTtl: '10s' })).toThrow(/sessionTtl/);
    expect(() => keywardAdmin({ keyward, rotateBefore: 'soon' })).toThrow(/rotateBefore/);
    expect(() => keywardAdmin({ keyward, authorize: 'yes' as never })).toThrow(/authorize/);
  });

  it('sends a strict CSP and the other security headers on every response, errors included', async () => {
    const { url } = await start({ adminKeys: true });
    for (const path of ['/login', '/', '/api/v1/health', '/assets/admin.css', '/nope']) {
      const response = await fetch(`${url}${path}`, { redirect: 'manual' });
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });

  describe('with neither authorize nor admin keys', () => {
    it('serves loopback connections, with both scopes', async () => {
      const { url } = await start();
      const response = await fetch(`${url}/`);
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('Signed in as <strong>loopback</strong>');
    });

    it('refuses a connection that is not from loopback (a Unix socket has no loopback address)', async () => {
      const admin = keywardAdmin({ keyward });
      closers.push(admin.close);
      const dir = mkdtempSync(join(tmpdir(), 'keyward-admin-'));
      const socketPath = join(dir, 'admin.sock');
      const server = http.createServer(admin);
      await new Promise<void>((resolve) => server.listen(socketPath, resolve));
      closers.push(async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        rmSync(dir, { recursive: true, force: true });
      });
      const get = (path: string, headers: Record<string, string> = {}) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          http
            .get({ socketPath, path, headers }, (res) => {
              let body = '';
              res.on('data', (c: Buffer) => {
                body += c.toString();
              });
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
            })
            .on('error', reject);
        });
      expect(await get('/api/v1/health')).toMatchObject({ status: 403, body: expect.stringContaining('loopback_only') });
      // A header cannot make a request loopback.
      expect((await get('/', { 'x-forwarded-for': '127.0.0.1' })).status).toBe(403);
    });
  });

  describe('admin keys', () => {
    it('are refused by the API, and API keys are refused by the console', async () => {
      const { admin, url } = await start({ adminKeys: true });
      const adminKey = await admin.issueAdminKey('alice');
      expect(adminKey.key.startsWith('kwadmin_')).toBe(true);
      expect(await keyward.verify(adminKey.key)).toMatchObject({ valid: false, reason: 'malformed' });
      const apiKey = await keyward.issue('acme', { scopes: ['keyward:write'] });
      const response = await fetch(`${url}/api/v1/health`, { headers: { authorization: `Bearer ${apiKey.key}` } });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: 'api_key_invalid', message: expect.any(String) });
      const ok = await fetch(`${url}/api/v1/health`, { headers: { authorization: `Bearer ${adminKey.key}` } });
      expect(ok.status).toBe(200);
    });

    it('log a browser in with a cookie that holds no key; revoking the key ends the session at once', async () => {
      const { admin, url } = await start({ adminKeys: true });
      const adminKey = await admin.issueAdminKey('alice');
      expect((await fetch(`${url}/`, { redirect: 'manual' })).headers.get('location')).toBe('./login');
      const response = await fetch(`${url}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { ...SAME_ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ key: adminKey.key }),
      });
      const setCookie = response.headers.getSetCookie()[0] ?? '';
      expect(setCookie).toMatch(/^keyward_admin_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Max-Age=28800$/);
      expect(setCookie).not.toContain(adminKey.key.slice(8, 30));
      const cookie = cookieOf(response);
      const page = await fetch(`${url}/`, { headers: { cookie } });
      expect(await page.text()).toContain('Signed in as <strong>admin:alice</strong>');
      const record = await store.findKeysByFingerprint(adminKey.fingerprint);
      await keyward.store.commit({
        at: clock.now(),
        updateKeys: [{ id: record[0]?.id as string, expectedVersion: 1, patch: { status: 'revoked', revokedAt: clock.now() } }],
      });
      const after = await fetch(`${url}/`, { headers: { cookie }, redirect: 'manual' });
      expect(after.status).toBe(303);
      expect(after.headers.get('location')).toBe('./login');
    });

    it('mark the cookie Secure behind a trusted HTTPS proxy, and refuse a wrong key', async () => {
      const { admin, url } = await start({ adminKeys: true, trustProxy: true });
      const adminKey = await admin.issueAdminKey('alice');
      const response = await fetch(`${url}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { ...SAME_ORIGIN, 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https' },
        body: new URLSearchParams({ key: adminKey.key }),
      });
      expect(response.headers.getSetCookie()[0]).toMatch(/; Secure$/);
      const wrong = await fetch(`${url}/login`, {
        method: 'POST',
        headers: { ...SAME_ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ key: `${adminKey.key.slice(0, -1)}x` }),
      });
      expect(wrong.status).toBe(401);
      expect(wrong.headers.getSetCookie()).toEqual([]);
    });

    it('give a read-only key no write forms and a 403 on every write', async () => {
      const { admin, url } = await start({ adminKeys: true });
      await keyward.issue('acme');
      const reader = await admin.issueAdminKey('auditor', { write: false });
      const cookie = await login(url, reader.key);
      const clients = await (await fetch(`${url}/clients`, { headers: { cookie } })).text();
      expect(clients).not.toContain('actions/');
      expect(clients).toContain('(read-only)');
      const detail = await (await fetch(`${url}/client?id=acme`, { headers: { cookie } })).text();
      expect(detail).not.toContain('actions/revoke');
      const form = await fetch(`${url}/actions/issue`, {
        method: 'POST',
        headers: { ...SAME_ORIGIN, cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ clientId: 'x' }),
      });
      expect(form.status).toBe(403);
      for (const route of API_ROUTES.filter((r) => r.write)) {
        const path = route.path.replace(/\{\w+\}/g, 'acme');
        const response = await fetch(`${url}/api/v1${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${reader.key}`, 'content-type': 'application/json' },
          body: '{}',
        });
        expect(response.status, path).toBe(403);
        expect(await response.json()).toMatchObject({ error: 'insufficient_scope' });
      }
      expect((await store.listClients({ limit: 10 })).clients.map((c) => c.clientId)).not.toContain('x');
    });
  });

  describe('cross-site requests', () => {
    it('refuse a cross-site or unlabelled form post with a cookie, and allow a cookie-less Bearer call', async () => {
      const { admin, url } = await start({ adminKeys: true });
      const adminKey = await admin.issueAdminKey('alice');
      const cookie = await login(url, adminKey.key);
      const post = (headers: Record<string, string>) =>
        fetch(`${url}/actions/issue`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
          body: new URLSearchParams({ clientId: 'victim' }),
        });
      expect((await post({ cookie, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
      expect((await post({ cookie, 'sec-fetch-site': 'same-site' })).status).toBe(403);
      expect((await post({ cookie })).status).toBe(403);
      // A cross-site form cannot log anyone in either (login CSRF).
      const loginCsrf = await fetch(`${url}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'cross-site' },
        body: new URLSearchParams({ key: adminKey.key }),
      });
      expect(loginCsrf.status).toBe(403);
      expect((await store.listClients({ limit: 10 })).clients.map((c) => c.clientId)).not.toContain('victim');
      const bearer = await fetch(`${url}/api/v1/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ clientId: 'robot' }),
      });
      expect(bearer.status).toBe(201);
      const withCookie = await fetch(`${url}/api/v1/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey.key}`, cookie, 'content-type': 'application/json' },
        body: JSON.stringify({ clientId: 'robot2' }),
      });
      expect(withCookie.status).toBe(403);
    });
  });

  describe('a new key', () => {
    it('is shown once, no-store; the same form again says it was already shown; no later page or response has it', async () => {
      const { url } = await start();
      const nonce = 'form-token-1';
      const issue = () =>
        fetch(`${url}/actions/issue`, {
          method: 'POST',
          headers: { ...SAME_ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ clientId: 'acme', scopes: 'orders:read orders:write', ttl: '30d', nonce }),
        });
      const first = await issue();
      expect(first.headers.get('cache-control')).toBe('no-store');
      const page = await first.text();
      const key = /value="(sk_live_[A-Za-z0-9]+)"/.exec(page)?.[1] as string;
      expect(key).toBeDefined();
      expect(await keyward.verify(key)).toMatchObject({ valid: true, scopes: ['orders:read', 'orders:write'] });
      const again = await issue();
      const replay = await again.text();
      expect(replay).toContain('already shown');
      expect(replay).not.toContain(key);
      expect((await store.listKeys({ clientId: 'acme' })).length).toBe(1);
      // Rotate through the API too, then look everywhere for either plaintext.
      const rotated = (await (
        await fetch(`${url}/api/v1/clients/acme/rotate`, {
          method: 'POST',
          headers: { ...SAME_ORIGIN, 'content-type': 'application/json', 'idempotency-key': 'r-1' },
          body: JSON.stringify({ grace: '1h' }),
        })
      ).json()) as { key: string; rotationId: string };
      const replayed = (await (
        await fetch(`${url}/api/v1/clients/acme/rotate`, {
          method: 'POST',
          headers: { ...SAME_ORIGIN, 'content-type': 'application/json', 'idempotency-key': 'r-1' },
          body: JSON.stringify({ grace: '1h' }),
        })
      ).json()) as { key: string | null; replayed: boolean; rotationId: string };
      expect(replayed).toMatchObject({ key: null, replayed: true, rotationId: rotated.rotationId });
      const secrets = [key, rotated.key];
      const paths = [
        '/',
        '/clients',
        '/client?id=acme',
        '/rotations',
        '/audit',
        '/audit/verify',
        '/api/v1/clients',
        '/api/v1/clients/acme',
        '/api/v1/rotations',
        '/api/v1/audit',
        '/api/v1/health',
      ];
      for (const path of paths) {
        const body = await (await fetch(`${url}${path}`)).text();
        for (const secret of secrets) expect(body, path).not.toContain(secret.slice(8));
      }
      const audit = JSON.stringify(await store.listAudit({}));
      for (const secret of secrets) expect(audit).not.toContain(secret.slice(8));
      expect((await store.listAudit({})).filter((r) => r.actor === 'loopback').map((r) => r.type)).toEqual(
        expect.arrayContaining(['key.issued', 'key.rotated']),
      );
    });
  });

  describe('the admin API', () => {
    it('publishes a valid OpenAPI 3.1 document generated from its schemas', async () => {
      const { url } = await start();
      const document = (await (await fetch(`${url}/api/v1/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
      expect(document.openapi).toBe('3.1.0');
      await SwaggerParser.validate(structuredClone(document) as never);
      for (const route of API_ROUTES) expect(document.paths[route.path], route.path).toBeDefined();
    });

    it('answers every route with a body its schema accepts, and bad input with a stable code that changes nothing', async () => {
      const { url } = await start();
      const json = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
        const response = await fetch(`${url}/api/v1${path}`, {
          method,
          headers: { ...SAME_ORIGIN, 'content-type': 'application/json', ...headers },
          ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
        });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      };
      const check = <T extends z.ZodType>(schema: T, value: unknown) => schema.parse(value);
      const issued = await json('POST', '/keys', { clientId: 'acme', scopes: ['a:b'] });
      expect(issued.status).toBe(201);
      const key = check(S.IssuedKey, issued.body);
      check(S.Health, (await json('GET', '/health')).body);
      check(S.ClientPage, (await json('GET', '/clients?search=ac&status=active&limit=5')).body);
      check(S.ClientDetail, (await json('GET', '/clients/acme')).body);
      check(S.Key, (await json('GET', `/keys/${key.id}`)).body);
      const rotation = check(S.RotationStarted, (await json('POST', '/clients/acme/rotate', { grace: '2h', graceFrom: 'first-use' })).body);
      const progress = check(S.RotationPage, (await json('GET', '/rotations')).body);
      expect(progress.rotations[0]).toMatchObject({ verdict: 'not-switched', rotation: { id: rotation.rotationId } });
      check(S.Extended, (await json('POST', `/rotations/${rotation.rotationId}/extend`, { by: '1h' })).body);
      check(S.Finalized, (await json('POST', `/rotations/${rotation.rotationId}/finalize`, {})).body);
      await json('POST', '/keys', { clientId: 'beta' });
      const beta = check(S.RotationStarted, (await json('POST', '/clients/beta/rotate', {})).body);
      check(S.Aborted, (await json('POST', `/rotations/${beta.rotationId}/abort`, { reason: 'test' })).body);
      const revoked = check(S.Key, (await json('POST', `/keys/${rotation.newKeyId}/revoke`, { reason: 'offboarding' })).body);
      expect(revoked.status).toBe('revoked');
      check(S.Purged, (await json('POST', '/purge', {})).body);
      const audit = check(S.AuditPage, (await json('GET', '/audit?client=acme&limit=3')).body);
      expect(audit.rows).toHaveLength(3);
      check(S.AuditPage, (await json('GET', `/audit?before=${audit.next}`)).body);
      expect(check(S.AuditVerify, (await json('GET', '/audit/verify')).body)).toMatchObject({ ok: true });

      const before = (await store.listAudit({})).length;
      const bad: [string, string, unknown, number, string][] = [
        ['POST', '/keys', '{"clientId": ', 400, 'invalid_body'],
        ['POST', '/keys', { clientId: 'x', extra: 1 }, 400, 'invalid_request'],
        ['POST', '/keys', { clientId: '' }, 400, 'invalid_request'],
        ['POST', '/keys', { clientId: 'x', ttl: 'soon' }, 400, 'invalid_request'],
        ['POST', '/clients/nobody/rotate', {}, 404, 'KEYWARD_NOT_FOUND'],
        ['POST', `/keys/${key.id}/revoke`, {}, 400, 'invalid_request'],
        ['POST', '/keys/nope/revoke', { reason: 'x' }, 404, 'KEYWARD_NOT_FOUND'],
        ['POST', `/rotations/${rotation.rotationId}/finalize`, {}, 409, 'KEYWARD_ILLEGAL_TRANSITION'],
        ['GET', '/clients?limit=0', undefined, 400, 'invalid_request'],
        ['GET', '/rotations?after=not-a-cursor', undefined, 400, 'invalid_request'],
        ['GET', '/clients/nobody', undefined, 404, 'KEYWARD_NOT_FOUND'],
        ['GET', '/nothing', undefined, 404, 'not_found'],
        ['DELETE', '/keys', undefined, 405, 'method_not_allowed'],
      ];
      for (const [method, path, body, status, code] of bad) {
        const response = await json(method, path, body);
        expect([path, response.status, response.body.error]).toEqual([path, status, code]);
        check(S.ErrorBody, response.body);
      }
      expect((await store.listAudit({})).length).toBe(before);
    });

    it('replays an action retried with the same Idempotency-Key instead of acting twice', async () => {
      const { url } = await start();
      const issue = () =>
        fetch(`${url}/api/v1/keys`, {
          method: 'POST',
          headers: { ...SAME_ORIGIN, 'content-type': 'application/json', 'idempotency-key': 'issue-1' },
          body: JSON.stringify({ clientId: 'acme' }),
        }).then(async (r) => ({
          status: r.status,
          cache: r.headers.get('cache-control'),
          body: (await r.json()) as Record<string, unknown>,
        }));
      const first = await issue();
      const second = await issue();
      expect(first).toMatchObject({ status: 201, cache: 'no-store', body: { key: expect.stringMatching(/^sk_live_/), replayed: false } });
      expect(second).toMatchObject({ status: 201, body: { key: null, replayed: true, id: first.body.id } });
      expect(await store.listKeys({ clientId: 'acme' })).toHaveLength(1);
    });
  });

  describe('pages', () => {
    it('answer a malformed filter or cursor with 400, not a silent first page', async () => {
      const { url } = await start();
      for (const path of ['/audit?before=abc', '/audit?before=-3', '/rotations?after=zz', '/clients?status=weird']) {
        const response = await fetch(`${url}${path}`);
        expect(response.status, path).toBe(400);
        expect(await response.text(), path).toContain('invalid_request');
      }
    });
  });

  describe('links', () => {
    it('are all relative to the mount point, never absolute', async () => {
      const { url } = await start();
      await keyward.issue('acme/eu');
      for (const path of ['/', '/clients', '/client?id=acme%2Feu', '/rotations', '/audit', '/audit/verify']) {
        const page = await (await fetch(`${url}${path}`)).text();
        const urls = [...page.matchAll(/(?:href|src|action)="([^"]*)"/g)].map((m) => m[1] as string);
        expect(urls.length, path).toBeGreaterThan(0);
        for (const u of urls) expect(u, `${path}: ${u}`).toMatch(/^(\.\/|\.\.\/|#|data:,$)/);
      }
    });
  });
});
