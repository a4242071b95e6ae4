import { defineConfig } from 'tsup';
import { packageBuild } from '../../scripts/tsup-package.ts';

export default defineConfig(packageBuild(import.meta.dirname, { index: 'src/index.ts' }));
