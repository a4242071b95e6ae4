import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against sources, never against builds. Longer specifiers first.
    alias: [
      { find: /^@picket\/http\/axios$/, replacement: here('./packages/http/src/axios.ts') },
      { find: /^@picket\/core\/internal$/, replacement: here('./packages/core/src/internal.ts') },
      { find: /^@picket\/(core|health|discovery|http)$/, replacement: here('./packages/$1/src/index.ts') },
      { find: /^picket\/axios$/, replacement: here('./src/axios.ts') },
      { find: /^picket\/dashboard$/, replacement: here('./src/dashboard.ts') },
      { find: /^picket$/, replacement: here('./src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
