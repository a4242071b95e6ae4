// The page's three files, read once when a dashboard starts, from the folder beside the built
// module (dist/dashboard/static) or the sources (src/dashboard/static).

import { readFile } from 'node:fs/promises';

export interface StaticFile {
  readonly type: string;
  readonly body: Buffer;
}

const FILES: Record<string, string> = {
  '/': 'index.html',
  '/dashboard.css': 'dashboard.css',
  '/dashboard.js': 'dashboard.js',
};

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
};

/** Path → file, for every file the page needs. Rejects naming the folder when one is missing. */
export async function loadStaticFiles(dir: URL): Promise<Map<string, StaticFile>> {
  const out = new Map<string, StaticFile>();
  await Promise.all(
    Object.entries(FILES).map(async ([path, name]) => {
      const file = new URL(name, dir);
      try {
        out.set(path, { type: TYPES[name.split('.').pop()!]!, body: await readFile(file) });
      } catch (error) {
        // A broken installation, not a caller's mistake: no Picket code to handle it by.
        throw new Error(
          `The dashboard's page is missing from the package: cannot read ${file.pathname} (reinstall picket)`,
          { cause: error },
        );
      }
    }),
  );
  return out;
}
