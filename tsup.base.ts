import { defineConfig, type Options } from 'tsup';

/**
 * The one build of every library package: ESM and CommonJS with split type
 * declarations (`.d.ts` / `.d.cts`), so a package works from both module systems.
 */
export function libraryConfig(overrides: Options = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'node20',
    ...overrides,
  });
}
