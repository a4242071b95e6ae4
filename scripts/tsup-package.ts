// The build every package shares: ESM and CommonJS from the same entries, with types. The two
// formats are separate configs because they differ in one thing: an ESM-only dependency (one
// whose package.json offers `require` no entry, as p-retry 9 was while Picket used it) is bundled
// into the CommonJS build.
// Left external, esbuild's interop would hand `require()`'s namespace object to a default import
// (`(0, import_p_retry.default) is not a function` at the first retry).

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Options } from 'tsup';

interface Manifest {
  type?: string;
  main?: string;
  exports?: unknown;
  dependencies?: Record<string, string>;
}

/** Whether `exports` (any of its conditions, at any depth) gives `require` an entry. */
function offersRequire(exports: unknown): boolean {
  if (exports === null || typeof exports !== 'object') return false;
  for (const [key, value] of Object.entries(exports)) {
    if (key === 'require' || key === 'node-addons') return true;
    if (offersRequire(value)) return true;
  }
  return false;
}

function esmOnly(manifest: Manifest): boolean {
  if (manifest.exports !== undefined && typeof manifest.exports !== 'string') {
    if (offersRequire(manifest.exports)) return false;
    // Only `import`/`default` conditions: CommonJS only if the files themselves are.
    return manifest.type === 'module';
  }
  const main = typeof manifest.exports === 'string' ? manifest.exports : (manifest.main ?? 'index.js');
  return main.endsWith('.mjs') || (manifest.type === 'module' && !main.endsWith('.cjs'));
}

/** The runtime dependencies of the package in `dir` that CommonJS cannot `require()` as themselves. */
export function esmOnlyDependencies(dir: string): string[] {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
  return Object.keys(manifest.dependencies ?? {}).filter(
    (name) => !name.startsWith('@picket/') && esmOnly(installed(dir, name)),
  );
}

// Found as Node finds it, up the node_modules folders: `exports` may not list its package.json.
function installed(dir: string, name: string): Manifest {
  for (let at = dir; ; at = dirname(at)) {
    const file = join(at, 'node_modules', name, 'package.json');
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Manifest;
    if (dirname(at) === at) throw new Error(`Dependency ${name} of ${dir} is not installed`);
  }
}

/** ESM and CommonJS builds of `entry` for the package in `dir`, with declarations for both. */
export function packageBuild(
  dir: string,
  entry: Record<string, string>,
  extra: Options = {},
  keep: readonly string[] = [],
): Options[] {
  const shared: Options = {
    entry,
    sourcemap: true,
    target: 'node22',
    outDir: 'dist',
    external: [/^@picket\//],
    ...extra,
  };
  return [
    // The two run at once: the ESM build cleans everything but the CommonJS build's files.
    {
      ...shared,
      format: ['esm'],
      dts: true,
      clean: ['!**/*.cjs', '!**/*.cjs.map', '!**/*.d.cts', ...keep.map((k) => `!${k}`)],
    },
    { ...shared, format: ['cjs'], dts: true, clean: false, noExternal: esmOnlyDependencies(dir) },
  ];
}
