// `pnpm demo`'s build step: builds the packages only when a source is newer than its
// build (or a build is missing), and quietly: one line, the build log only on failure.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');

/** Newest (or oldest) modification time of the files under `dir`, walking it whole. */
function mtimes(dir) {
  const times = [];
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else times.push(statSync(path).mtimeMs);
    }
  };
  if (existsSync(dir)) walk(dir);
  return times;
}

/** Packages whose `dist` is missing or older than `src`, `package.json` or `tsup.config.ts`. */
export function stalePackages(base = root) {
  const stale = [];
  const packages = join(base, 'packages');
  for (const name of readdirSync(packages)) {
    const dir = join(packages, name);
    if (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'src'))) continue;
    const built = mtimes(join(dir, 'dist'));
    const sources = [
      ...mtimes(join(dir, 'src')),
      ...['package.json', 'tsup.config.ts'].filter((f) => existsSync(join(dir, f))).map((f) => statSync(join(dir, f)).mtimeMs),
    ];
    if (built.length === 0 || Math.max(...sources) > Math.min(...built)) stale.push(name);
  }
  return stale;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const stale = stalePackages();
  if (stale.length > 0) {
    process.stderr.write(`building packages (changed: ${stale.join(', ')}) ...\n`);
    execFile('pnpm', ['run', 'build'], { cwd: root, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        process.stderr.write(`${stdout}${stderr}\nthe build failed (output above)\n`);
        process.exit(1);
      }
    });
  }
}
