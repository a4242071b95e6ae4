import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: { index: 'src/index.ts', axios: 'src/axios.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    // The two builds run at once: keep the CLI's output, which the second one writes.
    clean: ['!cli.js', '!cli.js.map'],
    sourcemap: true,
    target: 'node22',
    outDir: 'dist',
    external: [/^@picket\//],
  },
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
