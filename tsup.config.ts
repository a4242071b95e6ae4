import { cp } from 'node:fs/promises';
import { defineConfig } from 'tsup';
import { packageBuild } from './scripts/tsup-package.ts';

export default defineConfig([
  // The CLI's output is written by the third build, beside these two, and so is the dashboard's
  // page (dist/dashboard/static, found at run time beside the module: import.meta.url, shimmed in
  // the CommonJS build).
  ...packageBuild(
    import.meta.dirname,
    { index: 'src/index.ts', axios: 'src/axios.ts', dashboard: 'src/dashboard.ts' },
    { shims: true },
    ['cli.js', 'cli.js.map', 'dashboard/static/*'],
  ),
  {
    // The `picket` bin: ESM only, with the shebang that lets it run as a command.
    entry: { cli: 'src/cli.ts' },
    format: ['esm'],
    banner: { js: '#!/usr/bin/env node' },
    dts: false,
    clean: false,
    sourcemap: true,
    target: 'node22',
    outDir: 'dist',
    external: [/^@picket\//],
    // The dashboard's static files, as they are: no build step.
    onSuccess: async () => {
      await cp('src/dashboard/static', 'dist/dashboard/static', { recursive: true, force: true });
    },
  },
]);
