import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The built packages, packed as they would be published, installed into a scratch
 * CommonJS project and a scratch ESM project, and used from both (and type-checked
 * from TypeScript in both module modes). Needs `pnpm run build` first (`pnpm test` does it).
 */
const root = resolve(import.meta.dirname, '../..');
const packages = ['core', 'sqlite', 'postgres', 'redis'].filter((p) => existsSync(join(root, 'packages', p, 'dist', 'index.js')));

let scratch: string;

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'keyward-packaging-'));
  const modules = join(scratch, 'node_modules');
  mkdirSync(join(modules, '@keyward'), { recursive: true });
  const tarballs = join(scratch, 'tarballs');
  mkdirSync(tarballs);
  for (const name of packages) {
    const dir = join(root, 'packages', name);
    run('pnpm', ['pack', '--pack-destination', tarballs], dir);
    const tarball = readdirSync(tarballs).find((f) => f.startsWith(`keyward-${name}-`)) as string;
    const target = join(modules, '@keyward', name);
    mkdirSync(target);
    run('tar', ['xzf', join(tarballs, tarball), '-C', target, '--strip-components=1'], scratch);
    // Third-party dependencies and peers come from the workspace install (no network here).
    for (const source of [join(dir, 'node_modules'), join(root, 'node_modules')]) {
      if (!existsSync(source)) continue;
      for (const dep of readdirSync(source)) {
        if (dep.startsWith('.') || dep === '@keyward' || dep.startsWith('@')) continue;
        if (!existsSync(join(modules, dep))) symlinkSync(join(source, dep), join(modules, dep));
      }
    }
  }
  for (const scope of ['@types']) {
    if (existsSync(join(root, 'node_modules', scope))) symlinkSync(join(root, 'node_modules', scope), join(modules, scope));
  }
});

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

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
      const exported = JSON.parse(run('node', ['-e', `process.stdout.write(JSON.stringify(Object.keys(require('@keyward/${name}'))))`], dir));
      expect(exported.length, `@keyward/${name} exports something to require()`).toBeGreaterThan(0);
    }
  });

  it('works from an ESM project, with the same exports as CommonJS', () => {
    const dir = join(scratch, 'esm');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'esm-app', type: 'module' }));
    writeFileSync(join(dir, 'index.js'), coreSmoke("import { createKeyward } from '@keyward/core';"));
    expect(JSON.parse(run('node', ['index.js'], dir))).toEqual({ valid: true, clientId: 'acme', malformed: 'malformed', fingerprint: 8 });
    for (const name of packages) {
      const esm = JSON.parse(run('node', ['--input-type=module', '-e', `const m = await import('@keyward/${name}'); process.stdout.write(JSON.stringify(Object.keys(m).filter((k) => k !== 'default').sort()))`], dir));
      const cjs = JSON.parse(run('node', ['-e', `process.stdout.write(JSON.stringify(Object.keys(require('@keyward/${name}')).sort()))`], join(scratch, 'cjs')));
      expect(esm, `@keyward/${name}: ESM and CJS export the same names`).toEqual(cjs);
    }
    // The contract suite runs under vitest, which is ESM-only: `@keyward/core/testing` is an ESM entry.
    const testing = run('node', ['--input-type=module', '-e', "const t = await import('@keyward/core/testing'); process.stdout.write(typeof t.runKeyStoreContract)"], dir);
    expect(testing).toBe('function');
  });

  it('type-checks from TypeScript in both module modes', () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    for (const [mode, type] of [['commonjs', 'commonjs'], ['nodenext', 'module']] as const) {
      const dir = join(scratch, `ts-${mode}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `ts-${mode}`, type }));
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: mode === 'commonjs' ? 'commonjs' : 'nodenext', moduleResolution: mode === 'commonjs' ? 'node10' : 'nodenext', target: 'es2022', types: ['node'], skipLibCheck: false } }),
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
});
