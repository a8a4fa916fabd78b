import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../clock.js';
import type { KeywardEvents } from '../events.js';
import { createKeyward } from '../keyward.js';
import { MemoryStore } from '../memory-store.js';
import { MemoryAttemptLimiter } from './attempt-limiter.js';
import { authenticate, scopeError } from './authenticate.js';
import { type HttpAuthOptions, resolveHttpOptions } from './http-options.js';
import { DEFAULT_RESPONSE_CONFIG, hasScopes } from './responses.js';

const HOUR = 3_600_000;

function setup(options: Omit<HttpAuthOptions, 'keyward'> = {}) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const keyward = createKeyward({ store: new MemoryStore(), clock, grace: '48h', keyLifetime: '30d' });
  const config = resolveHttpOptions({ keyward, limiter: new MemoryAttemptLimiter({ max: 3, clock }), ...options });
  const rejected: KeywardEvents['key.rejected'][] = [];
  keyward.on('key.rejected', (e) => {
    rejected.push(e);
  });
  const request = (headers: Record<string, string>, ip = '10.0.0.1') =>
    authenticate(keyward, { headers, method: 'GET', path: '/orders', ip }, config);
  return { clock, keyward, config, request, rejected };
}

const failure = async (outcome: ReturnType<typeof authenticate>) => {
  const result = await outcome;
  if (result.ok) throw new Error('expected a failure');
  return { status: result.error.status, error: result.error.code, headers: result.error.headers };
};

describe('authenticate', () => {
  it('maps every case of the DESIGN table', async () => {
    const { clock, keyward, request } = setup({ limiter: false });
    const issued = await keyward.issue('acme', { scopes: ['orders:read'] });

    expect(await failure(request({}))).toEqual({
      status: 401,
      error: 'api_key_missing',
      headers: { 'WWW-Authenticate': 'Bearer realm="api"' },
    });
    expect(await failure(request({ authorization: 'Bearer ' }))).toEqual({
      status: 400,
      error: 'invalid_request',
      headers: { 'WWW-Authenticate': 'Bearer realm="api", error="invalid_request"' },
    });
    expect(await failure(request({ 'x-api-key': `${issued.key.slice(0, -1)}${issued.key.endsWith('x') ? 'y' : 'x'}` }))).toMatchObject({
      status: 401,
      error: 'api_key_invalid',
      headers: { 'WWW-Authenticate': 'Bearer realm="api", error="invalid_token"' },
    });

    const ok = await request({ authorization: `Bearer ${issued.key}` });
    expect(ok).toMatchObject({ ok: true, key: { clientId: 'acme', scopes: ['orders:read'] }, headers: undefined });

    const rotation = await keyward.rotate('acme');
    const grace = await request({ 'x-api-key': issued.key });
    expect(grace).toMatchObject({
      ok: true,
      headers: { Sunset: new Date(rotation.graceUntil).toUTCString(), Deprecation: `@${Math.floor(clock.now() / 1000)}` },
    });

    clock.advance(48 * HOUR);
    expect(await failure(request({ 'x-api-key': issued.key }))).toMatchObject({ status: 401, error: 'api_key_expired' });
    await keyward.revoke(rotation.newKeyId, { reason: 'leaked' });
    expect(await failure(request({ 'x-api-key': rotation.key as string }))).toMatchObject({
      status: 401,
      error: 'api_key_revoked',
      headers: { 'WWW-Authenticate': expect.stringContaining('error="invalid_token"') },
    });
  });

  it('passes method, path and ip into key.rejected', async () => {
    const { keyward, request, rejected } = setup();
    const issued = await keyward.issue('acme');
    await keyward.revoke(issued.id, { reason: 'test' });
    await request({ 'x-api-key': issued.key }, '192.0.2.7');
    expect(rejected).toEqual([
      expect.objectContaining({
        reason: 'revoked',
        fingerprint: issued.fingerprint,
        clientId: 'acme',
        context: { method: 'GET', path: '/orders', ip: '192.0.2.7' },
      }),
    ]);
  });

  it('reads path and ip only when it needs them, and hands events plain data', async () => {
    const { keyward, config, rejected } = setup();
    const issued = await keyward.issue('acme');
    const reads: string[] = [];
    // A lazy request view, as the adapters pass: getters that say when they are read.
    const view = (headers: Record<string, string>, socket?: object) => ({
      headers,
      method: 'GET',
      connection: socket,
      get path() {
        reads.push('path');
        return '/orders';
      },
      get ip() {
        reads.push('ip');
        return '192.0.2.7';
      },
    });
    const socket = {};
    for (let i = 0; i < 3; i++)
      expect((await authenticate(keyward, view({ authorization: `Bearer ${issued.key}` }, socket), config)).ok).toBe(true);
    expect(reads).toEqual([]); // a good key, the limiter not asked: no address resolved
    await keyward.revoke(issued.id, { reason: 'test' });
    await authenticate(keyward, view({ authorization: `Bearer ${issued.key}` }, socket), config);
    const event = rejected.at(-1);
    expect(event?.context).toEqual({ method: 'GET', path: '/orders', ip: '192.0.2.7' });
    expect(Object.getOwnPropertyDescriptor(event?.context, 'ip')?.value).toBe('192.0.2.7'); // data, not a getter
    // A guess is counted for its source: the address is read.
    reads.length = 0;
    await authenticate(keyward, view({ authorization: 'Bearer nope' }), config);
    expect(reads).toEqual(['ip']);
  });

  it("answers a connection's repeated Bearer key from the memo, and decides exactly as the full path", async () => {
    // A longer prefix, so that a header limit one character short of the Bearer header is a valid option.
    const keyward = createKeyward({ store: new MemoryStore(), prefix: 'acme_test' });
    const config = resolveHttpOptions({ keyward, limiter: false });
    const [a, b] = [await keyward.issue('acme'), await keyward.issue('globex')];
    const repeats = vi.spyOn(keyward, 'verifyRepeat');
    const socket = {};
    const on = (headers: Record<string, string>, options = config) =>
      authenticate(keyward, { headers, method: 'GET', path: '/orders', ip: '10.0.0.1', connection: socket }, options);
    const first = await on({ authorization: `Bearer ${a.key}` });
    const again = await on({ authorization: `Bearer ${a.key}` });
    expect(again).toEqual(first);
    expect(again).toMatchObject({ ok: true, key: { clientId: 'acme' } });
    expect(repeats.mock.results.at(-1)?.value).toMatchObject({ valid: true, clientId: 'acme' }); // answered by the memo
    // With the memo warm, everything the full path refuses is still refused.
    expect(await failure(on({ authorization: `Bearer ${a.key}`, 'x-api-key': b.key }))).toMatchObject({ status: 400 });
    const short = resolveHttpOptions({ keyward, limiter: false, maxHeaderLength: a.key.length + 6 });
    expect(await failure(on({ authorization: `Bearer ${a.key}` }, short))).toMatchObject({ status: 400 });
    const onlyHeader = resolveHttpOptions({ keyward, limiter: false, bearer: false });
    expect(await failure(on({ authorization: `Bearer ${a.key}` }, onlyHeader))).toMatchObject({ status: 401, error: 'api_key_missing' });
    // The same key in the key header, or under another spelling of the scheme: the full path, same answer.
    expect(await on({ authorization: `Bearer ${a.key}`, 'x-api-key': a.key })).toMatchObject({ ok: true, key: { clientId: 'acme' } });
    expect(await on({ authorization: `bearer ${a.key}` })).toMatchObject({ ok: true, key: { clientId: 'acme' } });
    expect(await on({ authorization: `Bearer ${b.key}` })).toMatchObject({ ok: true, key: { clientId: 'globex' } });
    await keyward.revoke(b.id, { reason: 'leaked' });
    expect(await failure(on({ authorization: `Bearer ${b.key}` }))).toMatchObject({ status: 401, error: 'api_key_revoked' });
  });

  it('enforces the scopes option with a 403 naming them', async () => {
    const { keyward, request } = setup({ scopes: ['orders:write', 'orders:read'] });
    const issued = await keyward.issue('acme', { scopes: ['orders:read'] });
    expect(await failure(request({ 'x-api-key': issued.key }))).toEqual({
      status: 403,
      error: 'insufficient_scope',
      headers: { 'WWW-Authenticate': 'Bearer realm="api", error="insufficient_scope", scope="orders:write orders:read"' },
    });
  });

  it('answers 429 with Retry-After once one source guessed too often, but never to a valid key; others are unaffected', async () => {
    const { keyward, request } = setup();
    const issued = await keyward.issue('acme');
    const wrong = `${issued.key.slice(0, -1)}${issued.key.endsWith('x') ? 'y' : 'x'}`;
    for (let i = 0; i < 3; i++) expect((await failure(request({ 'x-api-key': wrong }))).status).toBe(401);
    expect(await failure(request({ 'x-api-key': wrong }))).toEqual({
      status: 429,
      error: 'too_many_attempts',
      headers: { 'Retry-After': '60' },
    });
    expect((await request({ 'x-api-key': issued.key })).ok).toBe(true);
    expect((await failure(request({ 'x-api-key': wrong }, '10.0.0.2'))).status).toBe(401);
    // a missing key is not a guess
    for (let i = 0; i < 5; i++) await request({}, '10.0.0.3');
    expect((await request({ 'x-api-key': issued.key }, '10.0.0.3')).ok).toBe(true);
  });

  it('fails closed with 503 + Retry-After when the store is down, and does not count it as a failure', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore();
    const keyward = createKeyward({ store, clock });
    const issued = await keyward.issue('acme');
    const down = createKeyward({
      clock,
      store: new Proxy(store, { get: (t, p) => (p === 'findKeyByHash' ? () => Promise.reject(new Error('down')) : Reflect.get(t, p)) }),
    });
    const limiter = new MemoryAttemptLimiter({ max: 1 });
    const config = resolveHttpOptions({ keyward: down, limiter, unavailableRetryAfter: 7 });
    const outcome = await authenticate(down, { headers: { 'x-api-key': issued.key }, ip: 'x' }, config);
    expect(outcome).toMatchObject({ ok: false, error: { status: 503, code: 'auth_unavailable', headers: { 'Retry-After': '7' } } });
    expect(limiter.check('x')).toBe(0);
  });

  it('keeps authenticating when the limiter itself fails', async () => {
    const { keyward } = setup();
    const issued = await keyward.issue('acme');
    const broken = { check: () => Promise.reject(new Error('redis down')), hit: () => 0, reset: () => {} };
    const config = resolveHttpOptions({ keyward, limiter: broken });
    expect((await authenticate(keyward, { headers: { 'x-api-key': issued.key } }, config)).ok).toBe(true);
  });

  it('checks per-route scopes', () => {
    const key = { scopes: ['a', 'b'] };
    expect(hasScopes(key, ['a'])).toBe(true);
    expect(hasScopes(key, ['a', 'c'])).toBe(false);
    expect(scopeError(DEFAULT_RESPONSE_CONFIG, undefined, ['a'])?.status).toBe(401);
    expect(scopeError(DEFAULT_RESPONSE_CONFIG, key as never, ['c'])?.status).toBe(403);
    expect(scopeError(DEFAULT_RESPONSE_CONFIG, key as never, ['b'])).toBeUndefined();
  });
});
