// Completes package-lock.json with entries for optional platform packages (other OSes' and
// CPUs' binaries of esbuild, rollup, Biome, TypeScript 7) that the registry this lock was made
// against does not serve. npm leaves them out of the lock, and `npm ci` then refuses the lock
// as out of sync. Each added entry carries its os/cpu/libc, so npm skips it on other platforms
// and fetches it by version on its own. Run after any `npm install` that rewrites the lock.
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages;
const OSES = [
  'android',
  'darwin',
  'freebsd',
  'linux',
  'win32',
  'openbsd',
  'netbsd',
  'sunos',
  'aix',
  'openharmony',
];
const CPUS = ['arm64', 'x64', 'ia32', 'arm', 'riscv64', 's390x', 'ppc64', 'loong64', 'mips64el', 'wasm32'];

let added = 0;
for (const [path, entry] of Object.entries(packages)) {
  for (const [name, range] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = `${path === '' ? '' : `${path}/`}node_modules/${name}`;
    const top = `node_modules/${name}`;
    if (packages[nested] !== undefined || packages[top] !== undefined) continue;
    const base = name.split('/').at(-1);
    const os = OSES.find((o) => base.includes(o));
    const rest = os === undefined ? base : base.replace(os, '');
    const cpu = CPUS.find((c) => new RegExp(`(^|-)${c}($|-)`).test(rest));
    if (os === undefined && cpu === undefined) continue; // not a platform package: leave it to npm
    packages[top] = {
      version: range.replace(/^[\^~=]/, ''),
      optional: true,
      ...(os === undefined ? {} : { os: [os] }),
      ...(cpu === undefined ? {} : { cpu: [cpu] }),
      ...(base.includes('musl') ? { libc: ['musl'] } : {}),
    };
    added++;
  }
}
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lock: added ${added} platform entr${added === 1 ? 'y' : 'ies'}`);
