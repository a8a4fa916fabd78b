import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/`, import.meta.url));

// Tests import workspace packages from source, so a test run never depends on a
// stale build. The packaging test (test/packaging) imports the built dist instead.
const alias = [
  { find: /^@keyward\/core\/testing$/, replacement: `${src('core')}testing.ts` },
  { find: /^@keyward\/([a-z-]+)$/, replacement: `${fileURLToPath(new URL('./packages/', import.meta.url))}$1/src/index.ts` },
];

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts'],
          exclude: ['**/*.integration.test.ts', '**/node_modules/**'],
        },
      },
      {
        // Real Redis, real PostgreSQL, several processes: one file at a time.
        resolve: { alias },
        test: {
          name: 'integration',
          include: ['packages/*/src/**/*.integration.test.ts', 'test/**/*.test.ts'],
          exclude: ['**/node_modules/**'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
