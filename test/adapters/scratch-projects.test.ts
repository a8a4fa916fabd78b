import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installPacked, removeScratch, run } from '../support/scratch-install.js';

/**
 * The built adapter packages, packed as they would be published (`pnpm pack`) and
 * installed into a scratch CommonJS project and a scratch ESM project; each serves
 * one authenticated request with Express on a real 127.0.0.1 port, on the
 * zero-config default (`apiKeyAuth()` without `KEYWARD_DATABASE_URL`: a
 * `./keyward.db` SQLite file it creates and announces). Needs `pnpm run build` first (`pnpm test` does it).
 */
const packages = ['core', 'sqlite', 'env', 'express', 'koa', 'fastify', 'hono', 'nest'];
const runAsync = promisify(execFile);
let scratch: string;

beforeAll(() => {
  scratch = installPacked(packages, 'adapters-scratch');
}, 120_000);

afterAll(() => removeScratch(scratch));

const server = (load: string) => `
${load}
const http = require('node:http');
(async () => {
  const keyward = await defaultKeyward();
  const issued = await keyward.issue('scratch', { scopes: ['read'] });
  const app = express();
  app.use(apiKeyAuth());
  app.get('/me', (req, res) => res.json({ clientId: req.apiKey.clientId }));
  const listener = app.listen(0, '127.0.0.1', async () => {
    const { port } = listener.address();
    const get = (headers) => new Promise((done, fail) => {
      http.get({ host: '127.0.0.1', port, path: '/me', headers }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => done({ status: res.statusCode, body: JSON.parse(body), challenge: res.headers['www-authenticate'] }));
      }).on('error', fail);
    });
    const ok = await get({ authorization: 'Bearer ' + issued.key });
    const missing = await get({});
    listener.close();
    await closeDefaultKeyward();
    process.stdout.write(JSON.stringify({ ok, missing }));
  });
})().catch((error) => { console.error(error); process.exit(1); });
`;

/** No KEYWARD_DATABASE_URL: the zero-config default, `./keyward.db` in the project, created and announced. */
function zeroConfigEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.KEYWARD_DATABASE_URL;
  return env;
}

const expected = {
  ok: { status: 200, body: { clientId: 'scratch' } },
  missing: { status: 401, body: { error: 'api_key_missing', message: expect.any(String) }, challenge: 'Bearer realm="api"' },
};

describe('the packed adapters in scratch projects', () => {
  it('serve an authenticated request from a CommonJS project', async () => {
    const dir = join(scratch, 'cjs');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'cjs-app', type: 'commonjs' }));
    writeFileSync(
      join(dir, 'server.js'),
      server(`const express = require('express');
const { apiKeyAuth } = require('@keyward/express');
const { defaultKeyward, closeDefaultKeyward } = require('@keyward/env');`),
    );
    const { stdout, stderr } = await runAsync('node', ['server.js'], {
      cwd: dir,
      env: zeroConfigEnv(),
    });
    expect(JSON.parse(stdout)).toEqual(expected);
    expect(existsSync(join(dir, 'keyward.db'))).toBe(true);
    expect(stderr).toContain('KEYWARD_DATABASE_URL is not set; creating the zero-config SQLite database ./keyward.db');
    for (const name of ['koa', 'nest']) {
      const exported = JSON.parse(
        run('node', ['-e', `process.stdout.write(JSON.stringify(Object.keys(require('@keyward/${name}'))))`], dir),
      );
      expect(exported).toContain(name === 'koa' ? 'apiKeyAuth' : 'ApiKeyGuard');
    }
  });

  it('serve an authenticated request from an ESM project', async () => {
    const dir = join(scratch, 'esm');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'esm-app', type: 'module' }));
    writeFileSync(
      join(dir, 'server.js'),
      server(`import { createRequire } from 'node:module';
import express from 'express';
import { apiKeyAuth } from '@keyward/express';
import { defaultKeyward, closeDefaultKeyward } from '@keyward/env';
const require = createRequire(import.meta.url);`),
    );
    const { stdout, stderr } = await runAsync('node', ['server.js'], {
      cwd: dir,
      env: zeroConfigEnv(),
    });
    expect(JSON.parse(stdout)).toEqual(expected);
    expect(existsSync(join(dir, 'keyward.db'))).toBe(true);
    expect(stderr).toContain('KEYWARD_DATABASE_URL is not set; creating the zero-config SQLite database ./keyward.db');
    // That ESM and CJS builds export the same names is checked for every package in test/packaging.
  });
  /** One authenticated and one keyless request through `listen`, printed as JSON. */
  const probe = `
const probe = (port, issued) => {
  const get = (headers) => new Promise((done, fail) => {
    http.get({ host: '127.0.0.1', port, path: '/me', headers }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => done({ status: res.statusCode, body: JSON.parse(body), challenge: res.headers['www-authenticate'] }));
    }).on('error', fail);
  });
  return Promise.all([get({ authorization: 'Bearer ' + issued.key }), get({})]).then(([ok, missing]) => ({ ok, missing }));
};`;

  it('serve an authenticated request with Fastify from a CommonJS project', async () => {
    const dir = join(scratch, 'fastify-cjs');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'fastify-cjs-app', type: 'commonjs' }));
    writeFileSync(
      join(dir, 'server.js'),
      `const http = require('node:http');
const Fastify = require('fastify');
const { apiKeyAuth } = require('@keyward/fastify');
const { defaultKeyward, closeDefaultKeyward } = require('@keyward/env');
${probe}
(async () => {
  const keyward = await defaultKeyward();
  const issued = await keyward.issue('scratch', { scopes: ['read'] });
  const app = Fastify();
  await app.register(apiKeyAuth);
  app.get('/me', async (request) => ({ clientId: request.apiKey.clientId }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const result = await probe(app.server.address().port, issued);
  await app.close();
  await closeDefaultKeyward();
  process.stdout.write(JSON.stringify(result));
})().catch((error) => { console.error(error); process.exit(1); });
`,
    );
    const { stdout } = await runAsync('node', ['server.js'], { cwd: dir, env: zeroConfigEnv() });
    expect(JSON.parse(stdout)).toEqual(expected);
  });

  it('serve an authenticated request with Hono on @hono/node-server from an ESM project', async () => {
    const dir = join(scratch, 'hono-esm');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'hono-esm-app', type: 'module' }));
    writeFileSync(
      join(dir, 'server.js'),
      `import http from 'node:http';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { apiKeyAuth } from '@keyward/hono';
import { defaultKeyward, closeDefaultKeyward } from '@keyward/env';
${probe}
const keyward = await defaultKeyward();
const issued = await keyward.issue('scratch', { scopes: ['read'] });
const app = new Hono();
app.use(apiKeyAuth());
app.get('/me', (c) => c.json({ clientId: c.get('apiKey').clientId }));
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
await new Promise((resolve) => server.once('listening', resolve));
const result = await probe(server.address().port, issued);
server.close();
await closeDefaultKeyward();
process.stdout.write(JSON.stringify(result));
`,
    );
    const { stdout } = await runAsync('node', ['server.js'], { cwd: dir, env: zeroConfigEnv() });
    expect(JSON.parse(stdout)).toEqual(expected);
  });
});
