import 'reflect-metadata';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAdaptorServer } from '@hono/node-server';
import { createKeyward, type Keyward } from '@keyward/core';
import { secretScanningRouter } from '@keyward/express';
import { apiKeyAuth as fastifyApiKeyAuth, secretScanning as fastifySecretScanning } from '@keyward/fastify';
import { apiKeyAuth as honoApiKeyAuth, secretScanning as honoSecretScanning } from '@keyward/hono';
import { secretScanning } from '@keyward/koa';
import { PostgresStore } from '@keyward/postgres';
import { RedisInvalidationBus, RedisKeyCache } from '@keyward/redis';
import { SqliteStore } from '@keyward/sqlite';
import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminQuery, randomSchema, testUrl } from '../../packages/postgres/src/test-db.js';
import { cli, startApps, until } from '../support/faults/fleet.mjs';
import { startRedisProcess } from '../support/faults/redis-process.mjs';

/** A test "GitHub": one P-256 key in a published document; signs reports as GitHub does. */
const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
let keysServer: Server;
let keysUrl = '';

function signedReport(matches: unknown): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify(matches);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'github-public-key-identifier': 'test-key',
      'github-public-key-signature': sign('sha256', Buffer.from(body), pair.privateKey as KeyObject).toString('base64'),
    },
  };
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

const cleanups: (() => Promise<unknown>)[] = [];
let admin: Keyward;
let second: Awaited<ReturnType<typeof startApps>>;

beforeAll(async () => {
  keysServer = createServer((_req, res) => {
    const key = (pair.publicKey as KeyObject).export({ type: 'spki', format: 'pem' });
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ public_keys: [{ key_identifier: 'test-key', key, is_current: true }] }));
  });
  keysUrl = `http://127.0.0.1:${await listen(keysServer)}/keys`;
});

afterAll(async () => {
  await new Promise((r) => keysServer.close(r));
});

/** The app's store and a second API process on it: SQLite, PostgreSQL alone, or PostgreSQL with a Redis of the test's own. */
async function startStore(kind: 'sqlite' | 'postgres' | 'postgres+redis'): Promise<void> {
  let env: Record<string, string>;
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-leak-http-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    env = { KEYWARD_DATABASE_URL: join(dir, 'keyward.db') };
  } else {
    const schema = randomSchema('kwleak');
    cleanups.push(() => adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
    env = { KEYWARD_DATABASE_URL: testUrl(), KEYWARD_DATABASE_SCHEMA: schema };
  }
  let redisUrl: string | undefined;
  if (kind === 'postgres+redis') {
    const redis = await startRedisProcess();
    cleanups.push(() => redis.destroy());
    redisUrl = redis.url;
    env.KEYWARD_REDIS_URL = redis.url;
  }
  expect((await cli(['migrate'], env)).code).toBe(0);
  const store =
    kind === 'sqlite'
      ? new SqliteStore({ path: env.KEYWARD_DATABASE_URL as string, migrate: false })
      : new PostgresStore({ connectionString: testUrl(), schema: env.KEYWARD_DATABASE_SCHEMA, migrate: false });
  admin = createKeyward({
    store,
    ...(redisUrl ? { cache: new RedisKeyCache({ url: redisUrl }), bus: new RedisInvalidationBus({ url: redisUrl }) } : {}),
  });
  cleanups.push(() => admin.close());
  second = await startApps(1, env);
  cleanups.push(() => second.stop());
}

async function stopStore(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
}

/** POSTs `chunks` on a fresh connection (chunked unless a content-length is given); resolves with the status, whatever happens to the upload after it. */
function postAlone(port: number, headers: Record<string, string>, chunks: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/keyward/secret-scanning', headers, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject); // after a response, a reset upload no longer matters: the promise is settled
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

async function statusFromSecond(key: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${second.ports[0]}/orders`, { headers: { authorization: `Bearer ${key}` } });
  await res.arrayBuffer();
  return res.status;
}

const frameworks = {
  express: async () => {
    const app = express();
    app.use(secretScanningRouter({ keyward: admin, publicKeysUrl: keysUrl }));
    app.use(express.json()); // after the endpoint: it reads the raw body itself
    app.post('/other', (req, res) => void res.json(req.body));
    return createServer(app);
  },
  koa: async () => {
    const app = new Koa();
    app.use(secretScanning({ keyward: admin, publicKeysUrl: keysUrl }));
    return createServer(app.callback());
  },
  // Fastify: the plugin keeps the raw bytes in its own context; the app's JSON parser serves the other routes.
  fastify: async () => {
    const app = Fastify();
    await app.register(fastifyApiKeyAuth, { keyward: admin }); // every route needs a key, unless it says otherwise
    app.post('/other', { config: { apiKey: false } }, async (request) => request.body);
    await app.register(fastifySecretScanning, { keyward: admin, publicKeysUrl: keysUrl });
    await app.ready();
    return app.server;
  },
  // Hono: the handler reads the raw bytes; another route parses JSON.
  hono: async () => {
    const app = new Hono();
    app.post('/keyward/secret-scanning', honoSecretScanning({ keyward: admin, publicKeysUrl: keysUrl }));
    app.post('/other', async (c) => c.json(await c.req.json()));
    app.use(honoApiKeyAuth({ keyward: admin })); // the routes above need no key
    return createAdaptorServer({ fetch: app.fetch }) as Server;
  },
  // Nest on Express: rawBody keeps the bytes for the signature whatever runs first.
  nest: async () => {
    class AppModule {}
    Module({})(AppModule);
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app = moduleRef.createNestApplication({ rawBody: true, logger: false });
    app.use(secretScanningRouter({ keyward: admin, publicKeysUrl: keysUrl }));
    await app.init();
    return app.getHttpServer() as Server;
  },
};

const cases = [
  ['express', 'sqlite'],
  ['koa', 'sqlite'],
  ['express', 'postgres'],
  ['koa', 'postgres+redis'],
  ['nest', 'sqlite'],
  ['fastify', 'postgres+redis'],
  ['hono', 'sqlite'],
] as const;

/** The frameworks whose test app also has a JSON route (`POST /other` echoes the parsed body). */
const withJsonRoute = new Set(['express', 'fastify', 'hono']);

for (const [name, kind] of cases) {
  const make = frameworks[name];
  describe(`secret scanning through ${name} on ${kind} (real HTTP, a second API process)`, () => {
    beforeAll(() => startStore(kind));
    afterAll(() => stopStore());
    it('revokes a leaked key, answers labels and hashes, and a second process refuses the key within 1 s', async () => {
      const server = await make();
      const port = await listen(server);
      try {
        const live = await admin.issue(`${name}-client`);
        expect(await statusFromSecond(live.key)).toBe(200);
        const report = signedReport([
          { token: live.key, type: 'keyward_api_key', url: 'https://github.com/o/r/blob/1/a.js', source: 'content' },
          { token: 'sk_live_not_ours', type: 'keyward_api_key', url: 'https://github.com/o/r/blob/1/b.js', source: 'content' },
        ]);
        const res = await fetch(`http://127.0.0.1:${port}/keyward/secret-scanning`, {
          method: 'POST',
          headers: report.headers,
          body: report.body,
        });
        const revokedAt = Date.now();
        expect(res.status).toBe(200);
        const text = await res.text();
        expect(JSON.parse(text).map((a: { label: string }) => a.label)).toEqual(['true_positive', 'false_positive']);
        expect(text).not.toContain(live.key);
        await until('the second process refuses the leaked key', async () => (await statusFromSecond(live.key)) === 401, 5000);
        expect(Date.now() - revokedAt).toBeLessThan(1500);
        // Tampered body, wrong key id: 401, nothing changes.
        const other = await admin.issue(`${name}-other`);
        const good = signedReport([{ token: other.key, type: 't', url: 'https://github.com/o/r/blob/1/c.js' }]);
        const tampered = await fetch(`http://127.0.0.1:${port}/keyward/secret-scanning`, {
          method: 'POST',
          headers: good.headers,
          body: good.body.replace('c.js', 'd.js'),
        });
        expect(tampered.status).toBe(401);
        const wrongId = await fetch(`http://127.0.0.1:${port}/keyward/secret-scanning`, {
          method: 'POST',
          headers: { ...good.headers, 'github-public-key-identifier': 'nope' },
          body: good.body,
        });
        expect(wrongId.status).toBe(401);
        expect(await statusFromSecond(other.key)).toBe(200);
        // A signed body that is not JSON: 400, after the signature was checked.
        const notJson = '[{"token": "sk_live_'; // cut short
        const malformed = await fetch(`http://127.0.0.1:${port}/keyward/secret-scanning`, {
          method: 'POST',
          headers: {
            ...good.headers,
            'github-public-key-signature': sign('sha256', Buffer.from(notJson), pair.privateKey as KeyObject).toString('base64'),
          },
          body: notJson,
        });
        expect(malformed.status).toBe(400);
        // The app's JSON body parser still serves its other routes.
        if (withJsonRoute.has(name)) {
          const echoed = await fetch(`http://127.0.0.1:${port}/other`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ parsed: [1, 2] }),
          });
          expect(echoed.status).toBe(200);
          expect(await echoed.json()).toEqual({ parsed: [1, 2] });
        }
        // Replay of the first report: the same answer, nothing revoked twice.
        const replay = await fetch(`http://127.0.0.1:${port}/keyward/secret-scanning`, {
          method: 'POST',
          headers: report.headers,
          body: report.body,
        });
        expect(replay.status).toBe(200);
        const revokes = (await admin.store.listAudit({ clientId: `${name}-client` })).filter((a) => a.type === 'key.revoked');
        expect(revokes).toHaveLength(1);
        // Over 1 MiB: 413 (the Fastify and Hono adapters bound the body themselves), declared
        // or chunked, each on a connection of its own (the server closes it unread).
        if (name === 'fastify' || name === 'hono') {
          const big = `[${'"x",'.repeat(300_000)}"x"]`;
          expect(await postAlone(port, { ...good.headers, 'content-length': String(Buffer.byteLength(big)) }, [big])).toBe(413);
          expect(
            await postAlone(
              port,
              good.headers,
              Array.from({ length: 24 }, () => '"x",'.repeat(16_384)),
            ),
          ).toBe(413);
        }
      } finally {
        await new Promise((r) => server.close(r));
      }
    });
  });
}
