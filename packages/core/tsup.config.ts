import { defineConfig } from 'tsup';
import { packageBuild } from '../../scripts/tsup-package.ts';

// Splitting in CommonJS too: `index` and `internal` share one copy of each module (the WeakSet
// that marks validated instances, for one), as they do in ESM.
export default defineConfig(
  packageBuild(
    import.meta.dirname,
    { index: 'src/index.ts', internal: 'src/internal.ts' },
    { splitting: true },
  ),
);
