#!/usr/bin/env node
// Finds import cycles among the sources: every `import … from`, `export … from` and `import()`
// of a relative path or of a workspace package (`@picket/*`, `picket`), type-only imports
// included (a type cycle is still two modules that cannot be read one without the other).
// With --runtime, type-only imports are left out: what remains is what Node loads.
// Prints each cycle and exits 1 when there is one; --under=DIR reports only cycles that touch DIR.
// Run: node scripts/check-cycles.mjs [root] [--runtime] [--under=packages/http/src] [--json]

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const root = resolve(args.find((a) => !a.startsWith('--')) ?? join(here, '..'));
const json = args.includes('--json');
const runtime = args.includes('--runtime');
const under = args.find((a) => a.startsWith('--under='))?.slice('--under='.length);

/** Source directories walked: each package's `src`, and the umbrella's `src`. */
function sourceDirs(base) {
  const dirs = [];
  const packages = join(base, 'packages');
  if (existsSync(packages)) {
    for (const name of readdirSync(packages)) {
      const src = join(packages, name, 'src');
      if (existsSync(src)) dirs.push(src);
    }
  }
  if (existsSync(join(base, 'src'))) dirs.push(join(base, 'src'));
  return dirs;
}

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (/\.(ts|mts|cts)$/.test(name) && !/\.(test|d)\.ts$/.test(name)) out.push(path);
  }
  return out;
}

/** Where a workspace package specifier points: `@picket/core/internal` → packages/core/src/internal.ts. */
function workspaceFile(base, specifier) {
  const scoped = /^@picket\/([^/]+)(?:\/(.+))?$/.exec(specifier);
  if (scoped !== null) return join(base, 'packages', scoped[1], 'src', `${scoped[2] ?? 'index'}.ts`);
  const umbrella = /^picket(?:\/(.+))?$/.exec(specifier);
  if (umbrella !== null) return join(base, 'src', `${umbrella[1] ?? 'index'}.ts`);
  return null;
}

function resolveFile(from, specifier, base) {
  let target;
  if (specifier.startsWith('.')) target = resolve(dirname(from), specifier);
  else target = workspaceFile(base, specifier);
  if (target === null) return null;
  const candidates = [target, target.replace(/\.js$/, '.ts'), `${target}.ts`, join(target, 'index.ts')];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile()) ?? null;
}

// Comments are blanked first, so that an import in a comment or a JSDoc example is not counted.
const COMMENTS = /\/\*[\s\S]*?\*\/|(^|[^:'"`])\/\/[^\n]*/g;
const IMPORTS =
  /(?:^|[\s;])((?:import|export)\s[^'"`;]*?)\sfrom\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*\(?\s*['"]([^'"]+)['"]/g;

/** `import type { A }`, `export type { A }`, or `import { type A, type B }`: erased at build. */
function typeOnly(clause) {
  if (/^(?:import|export)\s+type\s/.test(clause)) return true;
  const names = /\{([^}]*)\}/.exec(clause);
  if (names === null || /^(?:import|export)\s+[\w$]+\s*,/.test(clause) || /\*/.test(clause)) return false;
  const specifiers = names[1]
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  return specifiers.length > 0 && specifiers.every((n) => n.startsWith('type '));
}

/** The import graph: file → the files it imports. */
function importGraph(base, { runtimeOnly = false } = {}) {
  const files = sourceDirs(base).flatMap((d) => walk(d, []));
  const graph = new Map();
  for (const file of files) {
    const text = readFileSync(file, 'utf8').replace(COMMENTS, '$1');
    const edges = new Set();
    for (const match of text.matchAll(IMPORTS)) {
      if (runtimeOnly && match[1] !== undefined && typeOnly(match[1])) continue;
      const target = resolveFile(file, match[2] ?? match[3], base);
      if (target !== null && target !== file) edges.add(target);
    }
    graph.set(file, edges);
  }
  return graph;
}

/** Strongly connected components of more than one file (Tarjan), each a cycle or several. */
function findCycles(graph) {
  let index = 0;
  const indices = new Map();
  const lowlinks = new Map();
  const stack = [];
  const onStack = new Set();
  const cycles = [];
  const connect = (v) => {
    indices.set(v, index);
    lowlinks.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!indices.has(w)) {
        connect(w);
        lowlinks.set(v, Math.min(lowlinks.get(v), lowlinks.get(w)));
      } else if (onStack.has(w)) {
        lowlinks.set(v, Math.min(lowlinks.get(v), indices.get(w)));
      }
    }
    if (lowlinks.get(v) !== indices.get(v)) return;
    const component = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) cycles.push(component.sort());
  };
  for (const v of graph.keys()) if (!indices.has(v)) connect(v);
  return cycles;
}

const graph = importGraph(root, { runtimeOnly: runtime });
const cycles = findCycles(graph)
  .map((c) => c.map((f) => relative(root, f)))
  .filter((c) => under === undefined || c.some((f) => f.startsWith(under)));
if (json) console.log(JSON.stringify({ files: graph.size, cycles }));
else if (cycles.length === 0) console.log(`No import cycle among ${graph.size} files.`);
else {
  console.log(`${cycles.length} import cycle(s) among ${graph.size} files:`);
  for (const cycle of cycles) console.log(`  ${cycle.join(' ↔ ')}`);
}
process.exitCode = cycles.length === 0 ? 0 : 1;
