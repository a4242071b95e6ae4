// The packed-consumer test (after `npm run build`): packs every package as npm would publish it,
// installs the tarballs into a fresh project outside this repository (so no workspace dependency
// can stand in for a missing one), and uses them there as a consumer would: real requests from
// an ES module and from CommonJS against HTTP servers started here, the `picket` bin through npx,
// and `tsc` over a TypeScript consumer under nodenext and bundler resolution. The fixtures are in
// scripts/consumer/. Then the READMEs' code blocks, as a user copies them: type-checked against the
// installed packages and run against HTTP servers (scripts/readme-snippets.mjs). One ✓/✗ line per
// check; exits 1 on any failure.

import { spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, parse, resolve } from 'node:path';
import { codeSnippets, commonJsModuleOf, moduleOf, programOf } from './readme-snippets.mjs';

const root = resolve(import.meta.dirname, '..');
const started = performance.now();
let failed = false;

// The repository's Node 24 (node_modules/.bin/node), for npm, npx and the consumers alike.
const workspaceNode = join(root, 'node_modules/.bin/node');
const node = existsSync(workspaceNode) ? realpathSync(workspaceNode) : process.execPath;
const env = { ...process.env, PATH: `${dirname(node)}${delimiter}${process.env.PATH ?? ''}` };
// Nothing of the workspace's may leak in: not its resolution conditions (picket-source would point
// at sources the tarballs do not have), nor what `npm run` says about this repository (its
// package, its folder); npm's settings (registry, cache, proxies) stay.
delete env.NODE_OPTIONS;
for (const key of Object.keys(env)) {
  if (/^npm_(package_|lifecycle_|command$|config_local_prefix$)/i.test(key)) delete env[key];
}

function report(ok, label, detail = '') {
  if (!ok) failed = true;
  console.log(`${ok ? '✓' : '✗'} ${label}${detail === '' ? '' : `: ${detail}`}`);
  return ok;
}

/** Runs a command to its end (or kills it at `timeoutMs`); never throws. `stderr` is in `output` too. */
function exec(command, args, { cwd, timeoutMs = 120_000, echo = false, extraEnv = {} } = {}) {
  return new Promise((done) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let stderr = '';
    const collect = (chunk) => {
      output += chunk;
      if (echo) process.stdout.write(chunk);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      collect(chunk);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      done({ code: -1, output: `${output}${error.message}`, stderr, timedOut });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code: code ?? signal, output, stderr, timedOut });
    });
  });
}

/** `exec`, reported as one check: ✓ with the time taken, or ✗ with the command's output. */
async function step(label, command, args, options) {
  const t = performance.now();
  const result = await exec(command, args, options);
  const ok = result.code === 0 && !result.timedOut;
  const took = `${((performance.now() - t) / 1000).toFixed(1)} s`;
  const why = result.timedOut ? `timed out after ${options?.timeoutMs ?? 120_000} ms` : `exit ${result.code}`;
  // Lines `hide` matches (tsc's --listFiles) would bury the errors.
  const shown = result.output
    .split('\n')
    .filter((line) => !options?.hide?.test(line))
    .join('\n');
  report(ok, `${label} (${took})`, ok ? '' : `${why}\n${shown.trim()}`);
  return ok ? result.output : undefined;
}

/**
 * Instances for one consumer run: `live` always answers, `a` and `b` answer too and serve /health,
 * which `POST /control/fail-health` turns to 503. Every answer names its server; `requests()`
 * counts what they were asked.
 */
async function startServers() {
  const servers = {};
  let requests = 0;
  const listening = ['live', 'a', 'b'].map((name) => {
    let healthy = true;
    const server = createServer((req, res) => {
      requests++;
      if (req.method === 'POST' && req.url === '/control/fail-health') {
        healthy = false;
        res.writeHead(204).end();
      } else if (req.url === '/health') {
        res.writeHead(healthy ? 200 : 503).end();
      } else if (req.url.startsWith('/missing')) {
        res.writeHead(404).end();
      } else {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ server: name, method: req.method, path: req.url }));
      }
    });
    servers[name] = server;
    return new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  });
  await Promise.all(listening);
  const urls = Object.fromEntries(
    Object.entries(servers).map(([name, s]) => [name, `http://127.0.0.1:${s.address().port}`]),
  );
  const close = () =>
    Promise.all(
      Object.values(servers).map((s) => {
        s.closeAllConnections();
        return new Promise((ok) => s.close(ok));
      }),
    );
  return { urls, close, requests: () => requests };
}

/** One consumer entry, run by Node with its own servers; it must end by itself within the deadline. */
async function runConsumer(app, file) {
  const servers = await startServers();
  try {
    const t = performance.now();
    const result = await exec(node, [file], {
      cwd: app,
      timeoutMs: 90_000,
      echo: true,
      extraEnv: { PICKET_CONSUMER_SERVERS: JSON.stringify(servers.urls) },
    });
    const took = `${((performance.now() - t) / 1000).toFixed(1)} s`;
    if (result.output.includes('✗')) failed = true;
    report(
      result.code === 0 && !result.timedOut,
      `node ${file} ran every flow and exited by itself (${took})`,
      result.timedOut ? 'killed after 90 s: it hung' : result.code === 0 ? '' : `exit ${result.code}`,
    );
  } finally {
    await servers.close();
  }
}

/**
 * `tsc` over the consumer with strict options and every declaration it reaches checked, and the
 * proof that it read the declarations expected (`.d.ts` for ES modules, `.d.cts` for CommonJS).
 */
async function typecheck(
  app,
  compilerOptions,
  files,
  declarations,
  name = `tsconfig.${compilerOptions.moduleResolution}.json`,
) {
  const config = {
    compilerOptions: {
      target: 'es2023',
      lib: ['es2023', 'dom'],
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      types: ['node'],
      ...compilerOptions,
    },
    files,
  };
  await writeFile(join(app, name), JSON.stringify(config, null, 2));
  const listed = await step(
    `tsc --noEmit, ${compilerOptions.module}/${compilerOptions.moduleResolution}: ${files.length > 3 ? `${files.length} files (${name})` : files.join(', ')}`,
    node,
    [join(app, 'node_modules/typescript/bin/tsc'), '-p', name, '--listFiles'],
    { cwd: app, hide: /^\// },
  );
  if (listed === undefined || declarations.length === 0) return;
  const missing = declarations.filter((d) => !listed.includes(join(app, 'node_modules', d)));
  report(
    missing.length === 0,
    `  … read ${declarations.join(', ')}`,
    missing.length === 0 ? '' : `not read: ${missing.join(', ')}`,
  );
}

/**
 * `picket watch --web`: the bin (dist/cli.js, a bundle of its own) finds the dashboard's page
 * beside it in the installed package, and serves it until SIGINT.
 */
async function watchWeb(app) {
  const servers = await startServers();
  const t = performance.now();
  // The linked bin itself, not through npx: npx does not pass SIGINT on to it.
  const child = spawn(
    join(app, 'node_modules/.bin/picket'),
    ['watch', '--service', 'web', '--discovery', servers.urls.live, '--web'],
    { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? signal)));
  try {
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no URL within 30 s')), 30_000);
      const look = () => {
        const match = /Dashboard of web: (http:\/\/\S+)/.exec(output);
        if (match !== null) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stdout.on('data', look);
      child.on('close', () => reject(new Error(`exited: ${output}`)));
    });
    const res = await fetch(url);
    const page = await res.text();
    const events = await fetch(new URL('events', url), { signal: AbortSignal.timeout(10_000) });
    const reader = events.body.getReader();
    let stream = '';
    while (!stream.includes('event: snapshot')) {
      const { value, done } = await reader.read();
      if (done) break;
      stream += new TextDecoder().decode(value);
    }
    await reader.cancel();
    child.kill('SIGINT');
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await exited;
    clearTimeout(killer);
    const ok =
      res.status === 200 &&
      page.includes('<title>Picket dashboard</title>') &&
      stream.includes('event: snapshot') &&
      code === 0;
    report(
      ok,
      `picket watch --web (the linked bin) serves the page and its stream, and exits 0 on SIGINT (${((performance.now() - t) / 1000).toFixed(1)} s)`,
      ok ? '' : `status ${res.status}, exit ${code}, stream ${stream.slice(0, 200)}\n${output}`,
    );
  } catch (error) {
    child.kill('SIGKILL');
    report(false, 'picket watch --web (the linked bin)', `${error.message}\n${output}`);
  } finally {
    await servers.close();
  }
}

/**
 * The READMEs' ```ts blocks in the consumer project: each type-checked as an ES module (a fragment
 * with the names its text introduces) and each complete one as CommonJS too, against the installed
 * packages; then each runnable one run by Node against the servers (their addresses for the ones
 * in the text), as an ES module, and a complete one with `require()` too. A run must exit 0 by
 * itself, with nothing on stderr (a warning, a listener's error, an error a snippet logs).
 */
async function readmeSnippets(app) {
  const snippets = codeSnippets(root);
  await mkdir(join(app, 'readme'));
  const files = [];
  for (const snippet of snippets) {
    files.push(`readme/${snippet.name}.ts`);
    await writeFile(join(app, files.at(-1)), moduleOf(snippet));
    if (snippet.flags.has('fragment')) continue;
    files.push(`readme/${snippet.name}.cts`);
    await writeFile(join(app, files.at(-1)), commonJsModuleOf(snippet));
  }
  await typecheck(
    app,
    { module: 'nodenext', moduleResolution: 'nodenext' },
    files,
    [],
    'tsconfig.readme.json',
  );

  const servers = await startServers();
  try {
    for (const snippet of snippets.filter((s) => !s.flags.has('no-run'))) {
      for (const cjs of snippet.flags.has('fragment') ? [false] : [false, true]) {
        const file = `readme/run-${snippet.name}.${cjs ? 'cts' : 'ts'}`;
        await writeFile(join(app, file), programOf(snippet, { cjs }));
        const before = servers.requests();
        const t = performance.now();
        const result = await exec(node, [file], {
          cwd: app,
          timeoutMs: 30_000,
          extraEnv: { PICKET_CONSUMER_SERVERS: JSON.stringify(servers.urls) },
        });
        const took = `${((performance.now() - t) / 1000).toFixed(1)} s, ${servers.requests() - before} requests`;
        const ok = result.code === 0 && !result.timedOut && result.stderr.trim() === '';
        const why = result.timedOut
          ? 'killed after 30 s: it did not exit by itself'
          : `exit ${result.code}${result.stderr.trim() === '' ? '' : ', with stderr'}`;
        report(
          ok,
          `${snippet.file}:${snippet.line} runs ${cjs ? 'with require()' : 'as an ES module'} (${took})`,
          ok ? '' : `${why}\n${result.output.trim()}`,
        );
      }
    }
  } finally {
    await servers.close();
  }
}

async function installedVersion(name) {
  const manifest = JSON.parse(await readFile(join(root, 'node_modules', name, 'package.json'), 'utf8'));
  return `${name}@${manifest.version}`;
}

/** node_modules folders above `dir` would resolve what the consumer forgot to depend on. */
function strayNodeModules(dir) {
  const found = [];
  for (let at = dirname(dir); ; at = dirname(at)) {
    if (existsSync(join(at, 'node_modules'))) found.push(join(at, 'node_modules'));
    if (at === parse(at).root) return found;
  }
}

async function main() {
  // Real path: tsc lists files by it, and a temporary folder may be reached through a link.
  const work = realpathSync(await mkdtemp(join(tmpdir(), 'picket-consumer-')));
  const app = join(work, 'app');
  try {
    console.log(`Consumer project: ${app} (Node ${(await exec(node, ['--version'])).output.trim()})`);
    const stray = strayNodeModules(work);
    if (!report(stray.length === 0, 'no node_modules above the consumer project', stray.join(', '))) return;

    const packed = await step(
      'npm pack every package',
      'npm',
      ['pack', '--json', '--pack-destination', work, '--workspaces', '--include-workspace-root'],
      { cwd: root },
    );
    if (packed === undefined) return;
    const tarballs = JSON.parse(packed).map((p) => join(work, p.filename));
    report(
      tarballs.length === 5,
      'one tarball per package (5)',
      tarballs.map((t) => t.slice(work.length + 1)).join(', '),
    );

    await cp(join(import.meta.dirname, 'consumer'), app, { recursive: true });
    await writeFile(
      join(app, 'package.json'),
      JSON.stringify({ name: 'picket-consumer', private: true, type: 'module' }, null, 2),
    );
    // The peers and tools at the versions this repository develops against; everything else
    // (zod, undici) comes from the registry as the packages' ranges say.
    // The OpenTelemetry packages are for the READMEs' metrics code.
    const extras = await Promise.all(
      [
        'axios',
        'yaml',
        'typescript',
        '@types/node',
        '@opentelemetry/api',
        '@opentelemetry/sdk-metrics',
        '@opentelemetry/exporter-prometheus',
      ].map(installedVersion),
    );
    const installed = await step(
      `npm install the ${tarballs.length} tarballs, ${extras.join(', ')}`,
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...tarballs, ...extras],
      { cwd: app, timeoutMs: 300_000 },
    );
    if (installed === undefined) return;

    await runConsumer(app, 'esm.mjs');
    await runConsumer(app, 'cjs.cjs');

    report(existsSync(join(app, 'node_modules/.bin/picket')), 'node_modules/.bin/picket is linked');
    const help = await step('npx picket --help', 'npx', ['--no', '--', 'picket', '--help'], {
      cwd: app,
      timeoutMs: 30_000,
    });
    if (help !== undefined) {
      const ok = help.includes('check <url>');
      report(ok, 'picket --help lists its commands', ok ? '' : help.slice(0, 300));
    }

    await watchWeb(app);

    const esmTypes = [
      'picket/dist/index.d.ts',
      'picket/dist/axios.d.ts',
      'picket/dist/dashboard.d.ts',
      '@picket/core/dist/index.d.ts',
      '@picket/core/dist/internal.d.ts',
    ];
    const cjsTypes = [
      'picket/dist/index.d.cts',
      'picket/dist/axios.d.cts',
      'picket/dist/dashboard.d.cts',
      '@picket/http/dist/index.d.cts',
      '@picket/core/dist/internal.d.cts',
    ];
    await typecheck(
      app,
      { module: 'nodenext', moduleResolution: 'nodenext' },
      ['consumer.ts', 'consumer.cts'],
      [...esmTypes, ...cjsTypes],
    );
    await typecheck(app, { module: 'esnext', moduleResolution: 'bundler' }, ['consumer.ts'], esmTypes);

    await readmeSnippets(app);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (error) {
  report(false, 'consumer test', error.stack);
}
const total = `${((performance.now() - started) / 1000).toFixed(1)} s`;
console.log(failed ? `✗ consumer test failed (${total})` : `✓ consumer test passed (${total})`);
process.exitCode = failed ? 1 : 0;
