// The import graph stays acyclic: scripts/check-cycles.mjs over the sources, and over a fixture
// with a cycle, so that the check is seen to fail when there is one.

import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const script = fileURLToPath(new URL('../../scripts/check-cycles.mjs', import.meta.url));
const repo = fileURLToPath(new URL('../..', import.meta.url));

interface Report {
  files: number;
  cycles: string[][];
}

async function check(...args: string[]): Promise<{ report: Report; code: number }> {
  try {
    const { stdout } = await run(process.execPath, [script, ...args, '--json']);
    return { report: JSON.parse(stdout) as Report, code: 0 };
  } catch (error) {
    const failed = error as { stdout: string; code: number };
    return { report: JSON.parse(failed.stdout) as Report, code: failed.code };
  }
}

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('import cycles', () => {
  // Type-only imports included: a type cycle is still two modules that cannot be read one
  // without the other (and without them, no runtime cycle either).
  it.each(['packages/core/src', 'packages/health/src', 'packages/discovery/src', 'packages/http/src', 'src'])(
    'finds none in %s',
    async (dir) => {
      const { report, code } = await check(repo, `--under=${dir}/`);
      expect(report.files).toBeGreaterThan(150);
      expect(report.cycles).toEqual([]);
      expect(code).toBe(0);
    },
  );

  it('reports a cycle through a type-only import and exits 1; --runtime leaves the type edge out', async () => {
    const root = await mkdtemp(join(tmpdir(), 'picket-cycles-'));
    dirs.push(root);
    const src = join(root, 'packages', 'demo', 'src');
    await mkdir(src, { recursive: true });
    await writeFile(
      join(src, 'request.ts'),
      "import { Attempt } from './attempt.ts';\nexport class Request {}\n",
    );
    await writeFile(
      join(src, 'attempt.ts'),
      "import type { Request } from './request.ts';\nexport class Attempt {}\n",
    );
    await writeFile(
      join(src, 'alone.ts'),
      "// import { Request } from './request.ts';\nexport const x = 1;\n",
    );
    const all = await check(root);
    expect(all.code).toBe(1);
    expect(all.report.cycles).toEqual([['packages/demo/src/attempt.ts', 'packages/demo/src/request.ts']]);
    const runtime = await check(root, '--runtime');
    expect(runtime.code).toBe(0);
    expect(runtime.report.cycles).toEqual([]);
  });
});
