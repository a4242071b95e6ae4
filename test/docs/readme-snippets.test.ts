// The READMEs' code blocks against the sources: every ```ts block type-checks (a fragment with
// the names its text introduces, scripts/readme-snippets.mjs), and every `picket` command line in
// a ```sh block parses. The packed-consumer test (scripts/consumer-test.mjs) checks the same
// blocks against the published types and runs them against real servers.

import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  codeSnippets,
  moduleOf,
  readmeFiles,
  readmeLine,
  type Snippet,
  snippetsOf,
} from '../../scripts/readme-snippets.mjs';
import { main } from '../../src/cli/main.ts';
import { settingsFrom } from '../../src/cli/watch-options.ts';
import { startServer, type TestServer } from '../fixtures/http-servers.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript7/bin/tsc');

/** Snippets that must not compile: the proof that a wrong option or export is caught. */
const WRONG: Snippet[] = [
  {
    file: 'wrong option',
    line: 0,
    lang: 'ts',
    code: "import { createClient } from 'picket';\ncreateClient({ service: 'a', discovery: [], retires: 2 });",
    flags: new Set(),
    name: 'wrong_option',
  },
  {
    file: 'wrong export',
    line: 0,
    lang: 'ts',
    code: "import { createClinet } from 'picket';\ncreateClinet({ service: 'a', discovery: [] });",
    flags: new Set(),
    name: 'wrong_export',
  },
];

interface Diagnostic {
  snippet: Snippet;
  /** `README.md:20: error TS2353: …`. */
  text: string;
}

/** `tsc` over the snippets as modules of this repository (its paths lead to the sources). */
function typecheck(snippets: readonly Snippet[]): Promise<{ diagnostics: Diagnostic[]; output: string }> {
  const cache = join(ROOT, 'node_modules/.cache');
  mkdirSync(cache, { recursive: true });
  // Inside the repository, so that `axios` and `@types/node` resolve from its node_modules.
  const dir = mkdtempSync(join(cache, 'readme-snippets-'));
  const byFile = new Map<string, Snippet>();
  for (const snippet of snippets) {
    writeFileSync(join(dir, `${snippet.name}.ts`), moduleOf(snippet));
    byFile.set(`${snippet.name}.ts`, snippet);
  }
  const config = {
    extends: join(ROOT, 'tsconfig.base.json'),
    compilerOptions: { noEmit: true, lib: ['ES2024', 'DOM'] },
    files: [...byFile.keys()],
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config));
  return new Promise((resolve) => {
    execFile(process.execPath, [TSC, '-p', join(dir, 'tsconfig.json'), '--pretty', 'false'], (_, stdout) => {
      rmSync(dir, { recursive: true, force: true });
      const diagnostics: Diagnostic[] = [];
      for (const match of stdout.matchAll(/^(?:.*[\\/])?([\w.]+\.ts)\((\d+),\d+\): (.*)$/gm)) {
        const snippet = byFile.get(match[1] as string);
        if (snippet === undefined) continue;
        const line = readmeLine(snippet, Number(match[2])) ?? `${snippet.line} (prelude)`;
        diagnostics.push({ snippet, text: `${snippet.file}:${line}: ${match[3]}` });
      }
      resolve({ diagnostics, output: stdout });
    });
  });
}

describe('README code blocks', () => {
  const snippets = codeSnippets(ROOT);

  it('are found in every README: the root one, the packages’ and the examples’', () => {
    const files = readmeFiles(ROOT);
    for (const file of [
      'README.md',
      'packages/core/README.md',
      'packages/http/README.md',
      'examples/README.md',
    ]) {
      expect(files).toContain(file);
    }
    expect(new Set(snippets.map((s) => s.file))).toEqual(
      new Set(files.filter((file) => snippetsOf(ROOT, file).some((s) => s.lang === 'ts'))),
    );
    expect(snippets.length).toBeGreaterThanOrEqual(20);
  });

  it('type-check against the sources, and a wrong option or export would not', async () => {
    const { diagnostics, output } = await typecheck([...snippets, ...WRONG]);
    const wrong = new Set<Snippet>(WRONG);
    expect(diagnostics.filter((d) => !wrong.has(d.snippet)).map((d) => d.text)).toEqual([]);
    // Without these the check above could pass by checking nothing.
    const caught = diagnostics.filter((d) => wrong.has(d.snippet)).map((d) => d.text);
    expect(caught, output).toContainEqual(
      expect.stringMatching(/^wrong option:2: .*'retires' does not exist/),
    );
    expect(caught, output).toContainEqual(
      expect.stringMatching(/^wrong export:1: .*has no exported member .*'createClinet'/),
    );
  });
});

describe('README command lines', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer((_req, res) => {
      res.end('ok');
    });
  });
  afterAll(() => server.close());

  /** Every `picket check|watch …` line of a ```sh block (the repository's `src/cli.ts` too). */
  const commands = readmeFiles(ROOT)
    .flatMap((file) => snippetsOf(ROOT, file))
    .filter((s) => s.lang === 'sh')
    .flatMap((s) =>
      s.code.split('\n').flatMap((text, i) => {
        const match = /(?:^|\s)(?:picket|src\/cli\.ts)\s+(check|watch)\s+([^#]*)/.exec(text);
        return match === null
          ? []
          : [
              {
                where: `${s.file}:${s.line + 1 + i}`,
                command: match[1] as string,
                args: (match[2] as string).trim().split(/\s+/),
              },
            ];
      }),
    );

  it('are found', () => {
    expect(commands.map((c) => c.command)).toEqual(expect.arrayContaining(['check', 'watch']));
  });

  it('parse as `picket watch` arguments', () => {
    for (const { where, args } of commands.filter((c) => c.command === 'watch')) {
      expect(() => settingsFrom(args), where).not.toThrow();
    }
  });

  it('run as `picket check` against a live server without a usage error', async () => {
    for (const { where, args } of commands.filter((c) => c.command === 'check')) {
      const live = args.map((arg) => arg.replace(/^https?:\/\/[^/]+/, server.url));
      let stderr = '';
      const sink = new Writable({
        write(chunk, _encoding, done) {
          stderr += chunk;
          done();
        },
      });
      const code = await main(['check', ...live], {
        stdout: new Writable({ write: (_c, _e, done) => done() }),
        stderr: sink,
        stop: new AbortController().signal,
      });
      expect(code, `${where}: ${stderr}`).not.toBe(2);
    }
  });
});
