// The code blocks of Picket's READMEs, as users copy them: found here, so that they can be
// type-checked against the published types and run against real servers (scripts/consumer-test.mjs)
// and type-checked against the sources (test/docs/readme-snippets.test.ts).
//
// A ```ts or ```js block is a complete module unless the line just before its fence says otherwise:
//   <!-- snippet: fragment -->  it uses names the text around it has introduced (`inventory`, an
//                               import); CONTEXT below supplies them, nothing else
//   <!-- snippet: no-run -->    it type-checks but needs what a test cannot have (an etcd at
//                               10.0.0.5, a DNS name that resolves)
//   <!-- snippet: signature --> a shape written for reading, not TypeScript; not compiled
// (several at once: `<!-- snippet: fragment, no-run -->`). Of the ```sh blocks, the test parses the
// `picket` command lines.

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const FLAGS = new Set(['fragment', 'no-run', 'signature']);

/** Every README a user reads: the root one, each package's and each example's, and docs/. */
export function readmeFiles(root) {
  const found = [];
  const walk = (dir, depth) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory() && depth > 0) walk(path, depth - 1);
      else if (
        entry.isFile() &&
        entry.name.endsWith('.md') &&
        (entry.name === 'README.md' || dir.includes('docs'))
      )
        found.push(relative(root, path));
    }
  };
  walk(root, 0);
  for (const dir of ['packages', 'examples', 'docs']) {
    try {
      walk(join(root, dir), 2);
    } catch (error) {
      if (error.code !== 'ENOENT') throw error;
    }
  }
  return found.sort();
}

/**
 * The fenced code blocks of `file` (relative to `root`): `{ file, line, lang, code, flags, name }`,
 * `line` being the fence's (1-based) and `name` a file name unique to the block.
 */
export function snippetsOf(root, file) {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const snippets = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]);
    if (open === null) continue;
    const start = i;
    const body = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    if (i === lines.length) throw new Error(`${file}:${start + 1}: code block never closed`);
    const marker = /^<!--\s*snippet:\s*(.*?)\s*-->$/.exec(lines[start - 1] ?? '');
    const flags = new Set(marker === null ? [] : marker[1].split(/\s*,\s*/));
    for (const flag of flags) {
      if (!FLAGS.has(flag))
        throw new Error(`${file}:${start}: unknown snippet marker ${JSON.stringify(flag)}`);
    }
    const lang = open[1];
    const name = `${file.replace(/\.md$/, '').replace(/[^\w]+/g, '_')}_L${start + 1}`;
    snippets.push({ file, line: start + 1, lang, code: body.join('\n'), flags, name });
  }
  return snippets;
}

/** The TypeScript and JavaScript blocks of every README, signatures left out. */
export function codeSnippets(root) {
  return readmeFiles(root)
    .flatMap((file) => snippetsOf(root, file))
    .filter((s) => ['ts', 'js', 'typescript', 'javascript'].includes(s.lang) && !s.flags.has('signature'));
}

/**
 * What a fragment may take from the text around it: name → the declaration that stands for it
 * when type-checking, and (`run`) the value it has when the fragment is run. `$servers` is the
 * loopback servers' URLs (`live`, `a`, `b`).
 */
export const CONTEXT = {
  createClient: { declare: "import { createClient } from 'picket';" },
  createAgent: { declare: "import { createAgent } from 'picket';" },
  httpCheck: { declare: "import { httpCheck } from 'picket';" },
  tcpCheck: { declare: "import { tcpCheck } from 'picket';" },
  loadCheck: { declare: "import { loadCheck } from 'picket';" },
  loadReporter: { declare: "import { loadReporter } from 'picket';" },
  dns: { declare: "import { dns } from 'picket';" },
  etcd: { declare: "import { etcd } from 'picket';" },
  fileList: { declare: "import { fileList } from 'picket';" },
  kubernetes: { declare: "import { kubernetes } from 'picket';" },
  registerEtcd: { declare: "import { registerEtcd } from 'picket';" },
  axios: { declare: "import axios from 'axios';" },
  http: { declare: "import http from 'node:http';" },
  hostname: { declare: "import { hostname } from 'node:os';" },
  delay: { declare: "import { setTimeout as delay } from 'node:timers/promises';" },
  inventory: {
    declare: "declare const inventory: import('picket').Client;",
    run: "const inventory = $picket.createClient({ service: 'inventory', discovery: [$servers.a, $servers.b] });",
  },
  payments: {
    declare: "declare const payments: import('picket').Client;",
    run: "const payments = $picket.createClient({ service: 'payments', discovery: [$servers.live] });",
  },
  lb: {
    declare: "declare const lb: import('picket').Balancer;",
    run: 'const lb = $picket.createBalancer(); lb.update([$servers.a]);',
  },
  id: { declare: 'declare const id: string;', run: 'const id = $servers.a;' },
  discovery: {
    declare: 'declare const discovery: string[];',
    run: 'const discovery = [$servers.a, $servers.b];',
  },
  file: { declare: 'declare const file: string;', run: "const file = 'inventory.json';" },
  userId: { declare: 'declare const userId: string;', run: "const userId = 'user-7';" },
  ordinal: { declare: 'declare const ordinal: number;', run: 'const ordinal = 0;' },
  replicas: { declare: 'declare const replicas: number;', run: 'const replicas = 3;' },
  podId: { declare: 'declare const podId: string;', run: "const podId = 'orders-0';" },
  token: { declare: 'declare const token: string;', run: "const token = 'token';" },
  ca: { declare: 'declare const ca: string;', run: "const ca = '';" },
  form: { declare: 'declare const form: Record<string, string>;', run: "const form = { item: '42' };" },
  onUploadProgress: {
    declare: "declare const onUploadProgress: (event: import('axios').AxiosProgressEvent) => void;",
    run: 'const onUploadProgress = () => {};',
  },
  app: {
    declare:
      "declare const app: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void;",
    run: "const app = (req, res) => res.end('ok');",
  },
  handle: {
    declare:
      "declare const handle: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void;",
    run: "const handle = (req, res) => res.end('ok');",
  },
};

/** Whether `code` binds `name` itself (imports or declares it), as far as README snippets go. */
function binds(code, name) {
  const word = name.replace(/\$/g, '\\$');
  return new RegExp(
    `\\b(?:const|let|var|function|class|interface|type)\\s+${word}\\b|^import\\b[^;]*\\b${word}\\b[^;]*\\bfrom\\b`,
    'm',
  ).test(code);
}

/** The CONTEXT names a fragment uses without binding them, in CONTEXT's order. */
export function contextOf(snippet) {
  if (!snippet.flags.has('fragment')) return [];
  // Comments and strings name things too (`// …inventory…`, 'http://…'); a name counts only in
  // code, and not as a property's key (`{ discovery: … }`).
  const code = snippet.code.replace(
    /\/\/.*$|\/\*[\s\S]*?\*\/|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"/gm,
    "''",
  );
  return Object.keys(CONTEXT).filter(
    (name) => new RegExp(`(?<![\\w.$])${name}\\b(?!\\s*:)`).test(code) && !binds(snippet.code, name),
  );
}

/** A snippet as a module for `tsc`: the declarations of the names it takes, then its code. */
export function moduleOf(snippet) {
  const prelude = contextOf(snippet).map((name) => CONTEXT[name].declare);
  return [`// ${snippet.file}:${snippet.line}`, ...prelude, snippet.code, 'export {};', ''].join('\n');
}

// The addresses README snippets call, each replaced by one of the loopback servers for a run, and
// the dashboard's fixed port by any free one.
const ADDRESS = /http:\/\/(?:127\.0\.0\.1:80\d\d|10\.0\.0\.\d{1,3}:8080)\b/g;
const SERVER_NAMES = ['live', 'a', 'b'];

/** `import …` statements (one or several lines) at the start of a line. */
const IMPORT = /^import\s+(type\s+)?([\s\S]*?)\s+from\s+('[^']+');?$/gm;

/** An ES `import` as the `require()` a CommonJS user writes for it ('' for a type-only one). */
function requireOf(_, typeOnly, clause, from) {
  if (typeOnly !== undefined) return '';
  const star = /^\*\s+as\s+(\w+)$/.exec(clause);
  if (star !== null) return `const ${star[1]} = require(${from});`;
  const named = /^(?:(\w+)\s*,\s*)?\{([\s\S]*)\}$/.exec(clause);
  if (named === null) return `const ${clause} = require(${from});`;
  const names = named[2]
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '' && !part.startsWith('type '))
    .map((part) => part.replace(/^(\w+)\s+as\s+(\w+)$/, '$1: $2'));
  const lines = [];
  if (named[1] !== undefined) lines.push(`const ${named[1]} = require(${from});`);
  if (names.length > 0) lines.push(`const { ${names.join(', ')} } = require(${from});`);
  return lines.join('\n');
}

/**
 * A snippet as a program to run with Node against the servers whose URLs are in the environment
 * (`PICKET_CONSUMER_SERVERS`): ESM (a `.ts` file of a `"type": "module"` project) or, with `cjs`,
 * CommonJS (a `.cts` file: each import turned into the `require()` a CommonJS user writes, the
 * rest in an async function). It must settle and exit by itself.
 */
export function programOf(snippet, { cjs = false } = {}) {
  let next = 0;
  const seen = new Map();
  const code = snippet.code
    .replace(ADDRESS, (address) => {
      if (!seen.has(address)) seen.set(address, SERVER_NAMES[next++ % SERVER_NAMES.length]);
      return `\${$servers.${seen.get(address)}}`;
    })
    .replace(/'(\$\{\$servers\.\w+\}[^'\n]*)'/g, '`$1`')
    .replace(/\bport: 9901\b/g, 'port: 0');
  const names = contextOf(snippet);
  const imports = names
    .filter((name) => CONTEXT[name].run === undefined)
    .map((name) => CONTEXT[name].declare);
  const values = names.filter((name) => CONTEXT[name].run !== undefined).map((name) => CONTEXT[name].run);
  const head = [
    `// ${snippet.file}:${snippet.line}`,
    'const $servers = JSON.parse(process.env.PICKET_CONSUMER_SERVERS);',
  ];
  if (!cjs) {
    const picket = values.some((v) => v.includes('$picket')) ? ["import * as $picket from 'picket';"] : [];
    return [...head, ...picket, ...imports, ...values, code, ''].join('\n');
  }
  const body = [...imports, ...values, code].join('\n');
  const requires = [...body.matchAll(IMPORT)].map((m) => requireOf(...m)).filter((line) => line !== '');
  return [
    ...head,
    "const $picket = require('picket');",
    ...requires,
    '(async () => {',
    body.replace(IMPORT, ''),
    '})().catch((error) => {',
    '  console.error(error);',
    '  process.exitCode = 1;',
    '});',
    '',
  ].join('\n');
}

/**
 * A complete snippet as a CommonJS module for `tsc` (a `.cts` file): its imports stay, since
 * TypeScript resolves them as `require()` (the packages' `.d.cts`), and the rest goes into an async
 * function, CommonJS having no top-level await.
 */
export function commonJsModuleOf(snippet) {
  const imports = [...snippet.code.matchAll(IMPORT)].map((m) => m[0]);
  const body = snippet.code.replace(IMPORT, '');
  return [`// ${snippet.file}:${snippet.line}`, ...imports, 'void (async () => {', body, '})();', ''].join(
    '\n',
  );
}

/** The README line of line `moduleLine` (1-based) of `moduleOf(snippet)`, or undefined in its prelude. */
export function readmeLine(snippet, moduleLine) {
  const codeLine = moduleLine - 1 - contextOf(snippet).length;
  return codeLine >= 1 ? snippet.line + codeLine : undefined;
}
