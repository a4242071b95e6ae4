import { defineConfig } from 'tsup';
import { packageBuild } from './scripts/tsup-package.ts';

export default defineConfig([
  // The CLI's output is written by the third build, beside these two.
  ...packageBuild(import.meta.dirname, { index: 'src/index.ts', axios: 'src/axios.ts' }, {}, [
    'cli.js',
    'cli.js.map',
  ]),
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
  },
]);
