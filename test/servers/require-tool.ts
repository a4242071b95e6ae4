// Finds a server binary that a suite needs. Missing on a developer machine: the suite is skipped
// with the Debian package to install. Missing under CI=true: the suite fails, so a CI image that
// lost a package cannot pass by skipping.

import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface Tool {
  binary: string;
  /** Absolute path, or undefined when not installed. */
  path: string | undefined;
  available: boolean;
}

const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function lookup(binary: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...SYSTEM_DIRS];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here; try the next directory.
    }
  }
  return undefined;
}

/**
 * Use with `describe.skipIf(!tool.available)`. Throws under `CI=true` when the binary is missing.
 * `debianPackage` names what provides it (`etcd-server` for `etcd`, `dnsmasq-base` for `dnsmasq`).
 */
export function requireTool(binary: string, debianPackage: string): Tool {
  const path = lookup(binary);
  if (path !== undefined) return { binary, path, available: true };
  const message = `\`${binary}\` is not installed; install the Debian package \`${debianPackage}\` (apt-get install ${debianPackage}) to run these tests`;
  if (process.env.CI === 'true') throw new Error(`${message}. Failing because CI=true.`);
  console.warn(`Skipping: ${message}.`);
  return { binary, path: undefined, available: false };
}
