import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installPacked, removeScratch, repoRoot, run } from '../support/scratch-install.js';

/**
 * The built packages, packed as they would be published, installed into a scratch
 * CommonJS project and a scratch ESM project, and used from both (and type-checked
 * from TypeScript in both module modes). Needs `pnpm run build` first (`pnpm test` does it).
 */
const root = repoRoot;
const packages = [
  'core',
  'sqlite',
  'postgres',
  'redis',
  'env',
  'express',
  'koa',
  'fastify',
  'hono',
  'nest',
  'prometheus',
  'client',
  'admin',
].filter((p) => existsSync(join(root, 'packages', p, 'dist', 'index.js')));

let scratch: string;

beforeAll(() => {
  scratch = installPacked(packages, 'packaging');
}, 120_000);

afterAll(() => removeScratch(scratch));

const coreSmoke = (load: string) => `
${load}
(async () => {
  const keyward = createKeyward();
  const issued = await keyward.issue('acme', { scopes: ['read'] });
  const result = await keyward.verify(issued.key);
  const malformed = await keyward.verify('sk_live_nope');
  process.stdout.write(JSON.stringify({ valid: result.valid, clientId: result.clientId, malformed: malformed.reason, fingerprint: issued.fingerprint.length }));
})();
`;

describe('packaging', () => {
  it('packs core at least', () => {
    expect(packages).toContain('core');
  });

  it('works from a CommonJS project', () => {
    const dir = join(scratch, 'cjs');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'cjs-app', type: 'commonjs' }));
    writeFileSync(join(dir, 'index.js'), coreSmoke("const { createKeyward } = require('@keyward/core');"));
    expect(JSON.parse(run('node', ['index.js'], dir))).toEqual({ valid: true, clientId: 'acme', malformed: 'malformed', fingerprint: 8 });
    for (const name of packages) {
      const exported = JSON.parse(
        run('node', ['-e', `process.stdout.write(JSON.stringify(Object.keys(require('@keyward/${name}'))))`], dir),
      );
      expect(exported.length, `@keyward/${name} exports something to require()`).toBeGreaterThan(0);
    }
    if (packages.includes('admin')) {
      // The console from CommonJS (Nest apps compile to it): its API answers on loopback.
      writeFileSync(
        join(dir, 'admin.js'),
        `const http = require('node:http');
const { createKeyward } = require('@keyward/core');
const { keywardAdmin } = require('@keyward/admin');
const keyward = createKeyward();
const server = http.createServer(keywardAdmin({ keyward })).listen(0, '127.0.0.1', async () => {
  const response = await fetch('http://127.0.0.1:' + server.address().port + '/api/v1/openapi.json');
  const doc = await response.json();
  process.stdout.write(JSON.stringify({ status: response.status, openapi: doc.openapi }));
  server.close();
  await keyward.close();
});
`,
      );
      expect(JSON.parse(run('node', ['admin.js'], dir))).toEqual({ status: 200, openapi: '3.1.0' });
    }
  });

  it('works from an ESM project, with the same exports as CommonJS', () => {
    const dir = join(scratch, 'esm');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'esm-app', type: 'module' }));
    writeFileSync(join(dir, 'index.js'), coreSmoke("import { createKeyward } from '@keyward/core';"));
    expect(JSON.parse(run('node', ['index.js'], dir))).toEqual({ valid: true, clientId: 'acme', malformed: 'malformed', fingerprint: 8 });
    for (const name of packages) {
      const esm = JSON.parse(
        run(
          'node',
          [
            '--input-type=module',
            '-e',
            `const m = await import('@keyward/${name}'); process.stdout.write(JSON.stringify(Object.keys(m).filter((k) => k !== 'default').sort()))`,
          ],
          dir,
        ),
      );
      const cjs = JSON.parse(
        run('node', ['-e', `process.stdout.write(JSON.stringify(Object.keys(require('@keyward/${name}')).sort()))`], join(scratch, 'cjs')),
      );
      expect(esm, `@keyward/${name}: ESM and CJS export the same names`).toEqual(cjs);
    }
    // The contract suite runs under vitest, which is ESM-only: `@keyward/core/testing` is an ESM entry.
    const testing = run(
      'node',
      ['--input-type=module', '-e', "const t = await import('@keyward/core/testing'); process.stdout.write(typeof t.runKeyStoreContract)"],
      dir,
    );
    expect(testing).toBe('function');
  });

  it('type-checks from TypeScript in both module modes', () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    for (const [mode, type] of [
      ['commonjs', 'commonjs'],
      ['nodenext', 'module'],
    ] as const) {
      const dir = join(scratch, `ts-${mode}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `ts-${mode}`, type }));
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noEmit: true,
            module: mode === 'commonjs' ? 'commonjs' : 'nodenext',
            moduleResolution: mode === 'commonjs' ? 'node10' : 'nodenext',
            target: 'es2022',
            types: ['node'],
            skipLibCheck: false,
          },
        }),
      );
      writeFileSync(
        join(dir, 'index.ts'),
        `import { createKeyward, type VerifyResult, type KeyStore } from '@keyward/core';
const keyward = createKeyward({ grace: '48h' });
const store: KeyStore = keyward.store;
export async function check(key: string): Promise<string> {
  const result: VerifyResult = await keyward.verify(key);
  void store;
  return result.valid ? result.clientId : result.reason;
}
`,
      );
      const output = (() => {
        try {
          return run('node', [tsc, '-p', dir], dir);
        } catch (error) {
          return String((error as { stdout?: string }).stdout ?? error);
        }
      })();
      expect(output, `TypeScript (${mode})`).toBe('');
    }
  });
  it('type-checks the Fastify and Hono adapters from TypeScript in both module modes', () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    for (const [mode, type] of [
      ['commonjs', 'commonjs'],
      ['nodenext', 'module'],
    ] as const) {
      const dir = join(scratch, `ts-adapters-${mode}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `ts-adapters-${mode}`, type }));
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noEmit: true,
            module: mode === 'commonjs' ? 'commonjs' : 'nodenext',
            moduleResolution: mode === 'commonjs' ? 'node10' : 'nodenext',
            target: 'es2022',
            types: ['node'],
            skipLibCheck: false,
            // Fastify's own types (through pino) need it; Fastify's TypeScript guide sets it.
            esModuleInterop: true,
          },
        }),
      );
      writeFileSync(
        join(dir, 'index.ts'),
        `import { createKeyward } from '@keyward/core';
import { apiKeyAuth as fastifyAuth } from '@keyward/fastify';
import { apiKeyAuth as honoAuth, type ApiKeyEnv } from '@keyward/hono';
import Fastify from 'fastify';
import { Hono } from 'hono';
const keyward = createKeyward({ grace: '48h' });
// The typed request shapes: request.apiKey and route config (Fastify), c.get('apiKey') (Hono).
export function fastifyApp() {
  const app = Fastify();
  void app.register(fastifyAuth, { keyward });
  app.get('/admin', { config: { apiKey: { scopes: ['admin'] } } }, async (request) => request.apiKey?.clientId ?? null);
  return app;
}
export function honoApp() {
  const app = new Hono<ApiKeyEnv>();
  app.use(honoAuth({ keyward }));
  app.get('/me', (c) => c.text(c.get('apiKey').clientId));
  return app;
}
`,
      );
      const output = (() => {
        try {
          return run('node', [tsc, '-p', dir], dir);
        } catch (error) {
          return String((error as { stdout?: string }).stdout ?? error);
        }
      })();
      expect(output, `TypeScript (${mode})`).toBe('');
    }
  });
});
