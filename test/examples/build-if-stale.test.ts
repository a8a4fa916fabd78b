// `pnpm demo` builds only packages whose sources are newer than their build.
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { stalePackages } from '../../scripts/build-if-stale.mjs';

const root = mkdtempSync(join(tmpdir(), 'keyward-stale-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function file(path: string, secondsAgo: number): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, 'x');
  const at = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(path, at, at);
}

describe('build-if-stale', () => {
  it('names the packages whose dist is missing or older than a source, and no others', () => {
    for (const name of ['fresh', 'edited', 'unbuilt', 'config']) {
      file(join(root, 'packages', name, 'package.json'), 100);
      file(join(root, 'packages', name, 'src', 'index.ts'), 100);
    }
    file(join(root, 'packages', 'fresh', 'dist', 'index.js'), 50);
    file(join(root, 'packages', 'edited', 'dist', 'index.js'), 50);
    file(join(root, 'packages', 'edited', 'src', 'deep', 'x.ts'), 10); // edited after the build
    file(join(root, 'packages', 'config', 'dist', 'index.js'), 50);
    file(join(root, 'packages', 'config', 'tsup.config.ts'), 10);
    expect(stalePackages(root).sort()).toEqual(['config', 'edited', 'unbuilt']);
  });
});
