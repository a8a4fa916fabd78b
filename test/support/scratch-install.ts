import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '../..');

export function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Packs workspace packages as they would be published (`pnpm pack`: only `files`,
 * `workspace:` ranges rewritten) and installs them into a scratch folder's
 * `node_modules`, as an app would get them from the registry. Third-party
 * dependencies and peers are linked from the workspace install (no network here).
 * Needs `pnpm run build` first. Returns the scratch folder; `rmSync` it when done.
 */
export function installPacked(packages: readonly string[], label: string): string {
  const scratch = mkdtempSync(join(tmpdir(), `keyward-${label}-`));
  const modules = join(scratch, 'node_modules');
  mkdirSync(join(modules, '@keyward'), { recursive: true });
  const tarballs = join(scratch, 'tarballs');
  mkdirSync(tarballs);
  for (const name of packages) {
    const dir = join(repoRoot, 'packages', name);
    run('pnpm', ['pack', '--pack-destination', tarballs], dir);
    const tarball = readdirSync(tarballs).find((f) => f.startsWith(`keyward-${name}-`)) as string;
    const target = join(modules, '@keyward', name);
    mkdirSync(target);
    run('tar', ['xzf', join(tarballs, tarball), '-C', target, '--strip-components=1'], scratch);
    for (const source of [join(dir, 'node_modules'), join(repoRoot, 'node_modules')]) linkDependencies(source, modules);
  }
  return scratch;
}

function linkDependencies(source: string, modules: string): void {
  if (!existsSync(source)) return;
  for (const dep of readdirSync(source)) {
    if (dep.startsWith('.') || dep === '@keyward') continue;
    if (!dep.startsWith('@')) {
      if (!existsSync(join(modules, dep))) symlinkSync(join(source, dep), join(modules, dep));
      continue;
    }
    mkdirSync(join(modules, dep), { recursive: true }); // a scope (@nestjs, @types): link its packages one by one
    for (const scoped of readdirSync(join(source, dep))) {
      if (!existsSync(join(modules, dep, scoped))) symlinkSync(join(source, dep, scoped), join(modules, dep, scoped));
    }
  }
}

export function removeScratch(scratch: string | undefined): void {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
}
