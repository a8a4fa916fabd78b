import { defineConfig } from 'tsup';

// The CLI is an executable, not a library: one ESM build with a shebang.
export default defineConfig({
  entry: ['src/cli.ts', 'src/index.ts'],
  format: ['esm'],
  dts: { entry: 'src/index.ts' },
  clean: true,
  sourcemap: true,
  target: 'node20',
});
