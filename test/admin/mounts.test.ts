// The console mounted in each framework, on PostgreSQL: Express under a sub-path beside
// express.json() and apiKeyAuth, Koa and Nest with the few lines of glue the README
// shows. Usage counts from real requests reach the rotation progress through the store.
import 'reflect-metadata';
import { createServer, type RequestListener, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type KeywardAdminHandler, keywardAdmin } from '@keyward/admin';
import { createKeyward, type Keyward } from '@keyward/core';
import { apiKeyAuth } from '@keyward/express';
import { PostgresStore } from '@keyward/postgres';
import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import express from 'express';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminQuery, randomSchema, testUrl } from '../../packages/postgres/src/test-db.js';

let keyward: Keyward;
let admin: KeywardAdminHandler;
let adminKey: string;
const schema = randomSchema('kwadm');

beforeAll(async () => {
  keyward = createKeyward({ store: new PostgresStore({ connectionString: testUrl(), schema }), lastUsed: { flushInterval: '100ms' } });
  admin = keywardAdmin({ keyward, adminKeys: true });
  adminKey = (await admin.issueAdminKey('ops')).key;
});
afterAll(async () => {
  await admin.close();
  await keyward.close();
  await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
});

async function listen(handler: RequestListener | Server): Promise<{ url: string; close: () => Promise<void> }> {
  const server = handler instanceof Server ? handler : createServer(handler);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

const bearer = () => ({ authorization: `Bearer ${adminKey}` });

const mounts = {
  express: async () => {
    const app = express();
    app.use(express.json());
    app.use(express.urlencoded({ extended: false }));
    app.use('/ops/keyward', admin);
    app.use(apiKeyAuth({ keyward }));
    app.get('/orders', (_req, res) => void res.json({ ok: true }));
    return listen(app as unknown as RequestListener);
  },
  // Koa: hand the raw request to the console below its prefix (README, "Koa").
  koa: async () => {
    const app = new Koa();
    app.use(async (ctx, next) => {
      if (ctx.path !== '/ops/keyward' && !ctx.path.startsWith('/ops/keyward/')) return next();
      ctx.respond = false;
      Object.assign(ctx.req, { originalUrl: ctx.url, url: ctx.url.slice('/ops/keyward'.length) || '/' });
      admin(ctx.req, ctx.res);
    });
    app.use((ctx) => {
      ctx.body = { ok: true };
    });
    return listen(app.callback());
  },
  // Nest on Express: app.use, like Express (README, "NestJS"); guards do not apply to it.
  nest: async () => {
    class AppModule {}
    Module({})(AppModule);
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    app.use('/ops/keyward', admin);
    await app.init();
    const server = app.getHttpServer() as Server;
    const running = await listen(server);
    return { url: running.url, close: () => app.close() };
  },
};

for (const [name, mount] of Object.entries(mounts)) {
  describe(`the console mounted in ${name} at /ops/keyward (PostgreSQL)`, () => {
    it('redirects the bare mount to its slash, serves pages and the API, and takes a JSON action', async () => {
      const running = await mount();
      try {
        const bare = await fetch(`${running.url}/ops/keyward`, { redirect: 'manual', headers: bearer() });
        expect(bare.status).toBe(303);
        expect(bare.headers.get('location')).toBe('./keyward/');
        const page = await fetch(`${running.url}/ops/keyward/clients`, { headers: bearer() });
        expect(page.status).toBe(200);
        expect(await page.text()).toContain('href="./client?id=keyward-admin%3Aops"');
        const issued = await fetch(`${running.url}/ops/keyward/api/v1/keys`, {
          method: 'POST',
          headers: { ...bearer(), 'content-type': 'application/json' },
          body: JSON.stringify({ clientId: `${name}-client`, scopes: ['orders:read'] }),
        });
        expect(issued.status).toBe(201);
        const { key } = (await issued.json()) as { key: string };
        expect(await keyward.verify(key)).toMatchObject({ valid: true, clientId: `${name}-client` });
        const form = await fetch(`${running.url}/ops/keyward/actions/issue`, {
          method: 'POST',
          headers: { ...bearer(), 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ clientId: `${name}-form` }),
        });
        // A Bearer call without a cookie may post; the form's key page comes back.
        expect(form.status).toBe(200);
        expect(await form.text()).toContain('id="new-key"');
      } finally {
        await running.close();
      }
    });
  });
}

describe('usage counts through PostgreSQL', () => {
  it('counts real requests per key and hour, and the rotation progress reads switched once the new key is in use', async () => {
    const running = await mounts.express();
    try {
      const issued = await keyward.issue('counted');
      const orders = async (key: string, n: number) => {
        for (let i = 0; i < n; i++)
          expect((await fetch(`${running.url}/orders`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
      };
      await orders(issued.key, 3);
      expect((await fetch(`${running.url}/orders`, { headers: bearer() })).status).toBe(401);
      const rotation = await keyward.rotate('counted', { grace: '1h' });
      await orders(issued.key, 2);
      await keyward.flushUsage();
      const progress = async () => {
        const body = (await (await fetch(`${running.url}/ops/keyward/api/v1/rotations?limit=200`, { headers: bearer() })).json()) as {
          rotations: { rotation: { id: string }; verdict: string; oldPerHour: number[]; newPerHour: number[] }[];
        };
        return body.rotations.find((r) => r.rotation.id === rotation.rotationId);
      };
      const before = await progress();
      expect(before).toMatchObject({ verdict: 'not-switched' });
      // Hourly buckets: the rotation's first hour holds the whole hour's requests, 3 before and 2 after.
      expect(before?.oldPerHour.reduce((a, b) => a + b, 0)).toBe(5);
      await orders(rotation.key as string, 4);
      await keyward.firstUsesRecorded();
      await keyward.flushUsage();
      const after = await progress();
      expect(after).toMatchObject({ verdict: 'switched' });
      expect(after?.newPerHour.reduce((a, b) => a + b, 0)).toBe(4);
    } finally {
      await running.close();
    }
  });
});
