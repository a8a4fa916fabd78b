// One NAT, one address: a client still sending its retired key (rotated out, or
// revoked) must not get its healthy neighbour refused. Retired keys are refused
// and alerted, but they are not guesses.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyward, generateKey, type Keyward, type KeywardEvents } from '@keyward/core';
import { RedisAttemptLimiter } from '@keyward/redis';
import { SqliteStore } from '@keyward/sqlite';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomNamespace, singleUrl } from '../../packages/redis/src/testing/targets.js';
import { buildApp, listen, statusOf } from './app.js';

const ROUNDS = 50;

describe('a retired key and a healthy one from the same address', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-colocated-'));
  let store: SqliteStore;
  let writer: Keyward;
  let keys: { live: string; inactive: string; revoked: string };

  beforeAll(async () => {
    store = new SqliteStore({ path: join(dir, 'keys.db') });
    writer = createKeyward({ store });
    const old = await writer.issue('stale-client');
    const rotation = await writer.rotate('stale-client');
    await writer.finalize(rotation.rotationId); // the old key is now inactive
    const revoked = await writer.issue('offboarded');
    await writer.revoke(revoked.id, { reason: 'offboarded' });
    keys = { live: (await writer.issue('healthy')).key, inactive: old.key, revoked: revoked.key };
  });
  afterAll(async () => {
    await writer.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** An API process of its own over the shared store (its LRU knows none of the keys yet), counting the alerts. */
  function apiProcess() {
    const keyward = createKeyward({ store });
    const alerts: KeywardEvents['key.rejected'][] = [];
    keyward.on('key.rejected', (e) => {
      alerts.push(e);
    });
    return { keyward, alerts };
  }

  it('on Express with supertest: the neighbour is served every time, the retired keys get 401 and their alert', async () => {
    const { keyward, alerts } = apiProcess();
    const app = buildApp(keyward); // default options: the limiter every route for this keyward shares
    const served: number[] = [];
    try {
      for (let i = 0; i < ROUNDS; i++) {
        const inactive = await request(app).get('/orders').set('X-API-Key', keys.inactive);
        const revoked = await request(app).get('/orders').set('Authorization', `Bearer ${keys.revoked}`);
        expect([inactive.status, inactive.body.error]).toEqual([401, 'api_key_expired']);
        expect([revoked.status, revoked.body.error]).toEqual([401, 'api_key_revoked']);
        served.push((await request(app).get('/orders').set('X-API-Key', keys.live)).status);
      }
      expect(served.filter((s) => s === 200)).toHaveLength(ROUNDS);
      expect(alerts.filter((a) => a.reason === 'inactive')).toHaveLength(ROUNDS);
      expect(alerts.filter((a) => a.reason === 'revoked')).toHaveLength(ROUNDS);
      // Retired keys used none of the address's budget: the first guesses are still 401, not 429.
      for (let i = 0; i < 10; i++) expect((await request(app).get('/orders').set('X-API-Key', generateKey('sk_live'))).status).toBe(401);
      expect((await request(app).get('/orders').set('X-API-Key', generateKey('sk_live'))).status).toBe(429);
      expect((await request(app).get('/orders').set('X-API-Key', keys.live)).status).toBe(200);
    } finally {
      await keyward.close();
    }
  });

  it('on a listening port with the Redis limiter, all at once: the neighbour is served every time', async () => {
    const { keyward, alerts } = apiProcess();
    const limiter = new RedisAttemptLimiter({ url: singleUrl(), namespace: randomNamespace() });
    const server = await listen(buildApp(keyward, limiter));
    try {
      const retired = Array.from({ length: ROUNDS }, (_, i) => statusOf(server.url, i % 2 === 0 ? keys.inactive : keys.revoked));
      const healthy = Array.from({ length: ROUNDS }, () => statusOf(server.url, keys.live));
      expect(await Promise.all(retired)).toEqual(Array(ROUNDS).fill(401));
      expect(await Promise.all(healthy)).toEqual(Array(ROUNDS).fill(200));
      // And again, now that this process knows every key: still nobody counted.
      for (let i = 0; i < ROUNDS; i++) {
        expect(await statusOf(server.url, i % 2 === 0 ? keys.inactive : keys.revoked)).toBe(401);
        expect(await statusOf(server.url, keys.live)).toBe(200);
      }
      expect(alerts).toHaveLength(2 * ROUNDS);
      expect(await limiter.check('127.0.0.1')).toBe(0);
      expect(await limiter.hit('127.0.0.1')).toBe(0); // the first of the address's budget
    } finally {
      await server.close();
      await limiter.close();
      await keyward.close();
    }
  });
});
