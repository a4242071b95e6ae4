// The public declarations, read as a TypeScript user reads them (hover, autocomplete, go to
// definition), through the compiler over the sources of every published entry: what a user calls
// or names is documented, down to the fields of inline object types and every number an event
// carries; a deprecated name says what replaces it; no public signature names a type that only
// @picket/core/internal exports (the plumbing, which changes without notice and which a user
// cannot import by a public path); and the umbrella entries export every package type their own
// exports name. The emitted .d.ts/.d.cts are checked by the packed-consumer test.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type ErrorCode, type InstanceState, isPicketError, PicketError } from '@picket/core';
import type { BreakerState, ClientOptions, LoadReportLimits, MetricsOptions } from 'picket';
import type { InstanceView } from 'picket/dashboard';
import ts from 'typescript';
import { beforeAll, describe, expect, expectTypeOf, it } from 'vitest';

const repo = fileURLToPath(new URL('../..', import.meta.url));

/** Every entry in an `exports` map of a published package, by the specifier a user writes. */
const PUBLIC = {
  picket: 'src/index.ts',
  'picket/axios': 'src/axios.ts',
  'picket/dashboard': 'src/dashboard.ts',
  '@picket/core': 'packages/core/src/index.ts',
  '@picket/health': 'packages/health/src/index.ts',
  '@picket/discovery': 'packages/discovery/src/index.ts',
  '@picket/http': 'packages/http/src/index.ts',
  '@picket/http/axios': 'packages/http/src/axios.ts',
};
const INTERNAL = 'packages/core/src/internal.ts';
/** Exports whose own JSDoc is what a user reads first: a call, a class, a constant, a type alias. */
const SAID_ALONE =
  ts.SymbolFlags.Function | ts.SymbolFlags.Class | ts.SymbolFlags.Variable | ts.SymbolFlags.TypeAlias;

let program: ts.Program;
let checker: ts.TypeChecker;
/** What some public entry exports. */
const isPublic = new Set<ts.Symbol>();

function exportsOf(file: string): ts.Symbol[] {
  const source = program.getSourceFile(`${repo}${file}`);
  if (source === undefined) throw new Error(`${file} is not in the program`);
  const module = checker.getSymbolAtLocation(source);
  if (module === undefined) throw new Error(`${file} is not a module`);
  return checker.getExportsOfModule(module);
}

function resolve(symbol: ts.Symbol): ts.Symbol {
  return symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
}

function hasDoc(declaration: ts.Declaration): boolean {
  return ts.getJSDocCommentsAndTags(declaration).length > 0;
}

function isPrivate(node: ts.PropertyDeclaration | ts.MethodDeclaration): boolean {
  return (
    (ts.getCombinedModifierFlags(node) & ts.ModifierFlags.Private) !== 0 || ts.isPrivateIdentifier(node.name)
  );
}

/** Declared in Picket's own sources (not in Node's, undici's or zod's types). */
function ours(declaration: ts.Declaration): boolean {
  return !declaration.getSourceFile().fileName.includes('/node_modules/');
}

function where(node: ts.Node): string {
  const source = node.getSourceFile();
  const { line } = source.getLineAndCharacterOfPosition(node.getStart());
  return `${source.fileName.slice(repo.length)}:${line + 1}`;
}

beforeAll(() => {
  const config = ts.getParsedCommandLineOfConfigFile(
    `${repo}tsconfig.json`,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (config === undefined) throw new Error('tsconfig.json could not be read');
  const roots = [...Object.values(PUBLIC), INTERNAL].map((file) => `${repo}${file}`);
  program = ts.createProgram(roots, { ...config.options, noEmit: true });
  checker = program.getTypeChecker();
  for (const file of Object.values(PUBLIC))
    for (const symbol of exportsOf(file)) isPublic.add(resolve(symbol));
}, 60_000);

/**
 * The types `symbol`'s declarations name, each with where it is first named. Types no entry
 * exports are read through: what they name shows on hover as much.
 */
function namedTypes(symbol: ts.Symbol): Map<ts.Symbol, ts.Node> {
  const named = new Map<ts.Symbol, ts.Node>();
  const visit = (node: ts.Node): void => {
    // Bodies are not part of a declaration; a class's private members are not in its declaration
    // file (its `#private` shape is).
    if (ts.isBlock(node)) return;
    if ((ts.isPropertyDeclaration(node) || ts.isMethodDeclaration(node)) && isPrivate(node)) return;
    if (ts.isTypeReferenceNode(node) || ts.isExpressionWithTypeArguments(node)) {
      const found = checker.getSymbolAtLocation(
        ts.isTypeReferenceNode(node) ? node.typeName : node.expression,
      );
      const target = found === undefined ? undefined : resolve(found);
      if (target !== undefined && !named.has(target)) {
        named.set(target, node);
        if (!isPublic.has(target)) for (const d of target.declarations ?? []) if (ours(d)) visit(d);
      }
    }
    ts.forEachChild(node, visit);
  };
  for (const declaration of resolve(symbol).declarations ?? []) visit(declaration);
  return named;
}

/**
 * The members of object types written inline in `declaration`'s type (`backoff?: { baseMs?: … }`,
 * `false | { … }`) that have no JSDoc, as `path.member`, and theirs in turn.
 */
function nestedMembers(declaration: ts.Declaration, path: string, undocumented: Set<string>): void {
  const visit = (node: ts.Node): void => {
    // A named type is checked where it is declared; a function's parameters are not fields.
    if (ts.isTypeReferenceNode(node) || ts.isFunctionTypeNode(node)) return;
    if (ts.isTypeLiteralNode(node)) {
      for (const member of node.members) {
        if (!ts.isPropertySignature(member)) continue;
        const name = `${path}.${member.name.getText()}`;
        if (!hasDoc(member)) undocumented.add(`${name} (${where(member)})`);
        nestedMembers(member, name, undocumented);
      }
      return;
    }
    ts.forEachChild(node, visit);
  };
  const type = (declaration as { type?: ts.TypeNode }).type;
  if (type !== undefined) visit(type);
}

describe('the public declarations', () => {
  it('are read for every entry of every exports map', () => {
    const entries: string[] = [];
    for (const dir of ['', 'packages/core/', 'packages/health/', 'packages/discovery/', 'packages/http/']) {
      const manifest = JSON.parse(readFileSync(`${repo}${dir}package.json`, 'utf8')) as {
        name: string;
        exports: Record<string, unknown>;
      };
      for (const key of Object.keys(manifest.exports)) {
        if (key === './package.json' || key === './internal') continue;
        entries.push(key === '.' ? manifest.name : `${manifest.name}/${key.slice(2)}`);
      }
    }
    expect(entries.sort()).toEqual(Object.keys(PUBLIC).sort());
  });

  // An interface's name says what it is, and its members say the rest (below); what a user calls
  // (a function, a class, a constant) says what it does, and a type alias (a union of names, a
  // function type) has no members to say it.
  it('document every exported function, class, constant and type alias', () => {
    const undocumented = new Set<string>();
    for (const [entry, file] of Object.entries(PUBLIC)) {
      for (const symbol of exportsOf(file)) {
        const target = resolve(symbol);
        if (!(target.flags & SAID_ALONE)) continue;
        const declarations = target.declarations ?? [];
        if (declarations.length > 0 && !declarations.some(hasDoc)) {
          undocumented.add(`${entry}: ${symbol.name} (${where(declarations[0] as ts.Declaration)})`);
        }
      }
    }
    expect([...undocumented]).toEqual([]);
  });

  // Options, handles, snapshots, messages: what autocomplete lists after a dot. A field's unit and
  // default are said there, or nowhere a user sees them.
  it('document every member of every exported interface and class', () => {
    const undocumented = new Set<string>();
    for (const file of Object.values(PUBLIC)) {
      for (const symbol of exportsOf(file)) {
        // The parsed form (ResolvedHealthOptions) repeats the documented one's fields.
        if (symbol.name.startsWith('Resolved')) continue;
        const type = checker.getDeclaredTypeOfSymbol(resolve(symbol));
        for (const property of checker.getPropertiesOfType(type)) {
          const declarations = property.declarations ?? [];
          if (property.name.startsWith('#')) continue;
          if (declarations.length > 0 && declarations.every(ours) && !declarations.some(hasDoc)) {
            undocumented.add(`${symbol.name}.${property.name} (${where(declarations[0] as ts.Declaration)})`);
          }
          for (const declaration of declarations) {
            if (ours(declaration))
              nestedMembers(declaration, `${symbol.name}.${property.name}`, undocumented);
          }
        }
      }
    }
    expect([...undocumented]).toEqual([]);
  });

  // An editor strikes a deprecated name through; its JSDoc is where the user learns what replaces it.
  it('say with every @deprecated name what to use instead', () => {
    const deprecated = new Map<string, string>();
    const read = (name: string, declarations: readonly ts.Declaration[] = []): void => {
      for (const declaration of declarations.filter(ours)) {
        for (const tag of ts.getJSDocTags(declaration)) {
          if (tag.tagName.text === 'deprecated')
            deprecated.set(name, ts.getTextOfJSDocComment(tag.comment) ?? '');
        }
      }
    };
    for (const file of Object.values(PUBLIC)) {
      for (const symbol of exportsOf(file)) {
        const target = resolve(symbol);
        read(symbol.name, target.declarations);
        for (const member of checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(target))) {
          read(`${symbol.name}.${member.name}`, member.declarations);
        }
      }
    }
    // Pick, Endpoint and Balancer.setHealth at least: the check reads what it means to.
    expect(deprecated.size).toBeGreaterThanOrEqual(3);
    const vague = [...deprecated].filter(([, text]) => !/`[^`]+`/.test(text)).map(([name]) => name);
    expect(vague).toEqual([]);
  });

  // What `on('x', (e) => …)` hands a listener: the event says when it fires, and a number in it
  // says its unit (ms, a fraction, a count).
  it('document every event and every number an event carries', () => {
    const undocumented = new Set<string>();
    for (const file of Object.values(PUBLIC)) {
      for (const symbol of exportsOf(file)) {
        if (!symbol.name.endsWith('Events')) continue;
        const events = checker.getDeclaredTypeOfSymbol(resolve(symbol));
        for (const event of checker.getPropertiesOfType(events)) {
          const declarations = event.declarations ?? [];
          if (!declarations.some(hasDoc)) undocumented.add(`${symbol.name}['${event.name}']`);
          for (const field of checker.getPropertiesOfType(checker.getTypeOfSymbol(event))) {
            const fieldDeclarations = field.declarations ?? [];
            const numeric = checker.getTypeOfSymbol(field).flags & ts.TypeFlags.NumberLike;
            if (numeric && fieldDeclarations.every(ours) && !fieldDeclarations.some(hasDoc)) {
              undocumented.add(`${symbol.name}['${event.name}'].${field.name}`);
            }
          }
        }
      }
    }
    expect([...undocumented]).toEqual([]);
  });

  it('name no type that only @picket/core/internal exports', () => {
    const plumbing = new Set(
      exportsOf(INTERNAL)
        .map(resolve)
        .filter((symbol) => !isPublic.has(symbol)),
    );
    const leaks = new Set<string>();
    for (const [entry, file] of Object.entries(PUBLIC)) {
      for (const symbol of exportsOf(file)) {
        for (const [target, node] of namedTypes(symbol)) {
          if (plumbing.has(target))
            leaks.add(`${entry}: ${symbol.name} names ${target.name} (${where(node)})`);
        }
      }
    }
    expect([...leaks]).toEqual([]);
  });

  // The umbrella's surface is chosen, not `export *`; but a type its own exports name, which a
  // package exports, is one a user of `picket` needs to name too (to type a variable, a helper).
  it.each(['picket', 'picket/axios', 'picket/dashboard'] as const)(
    'export from %s (or picket) every package type that what it exports names',
    (entry) => {
      const exported = [...exportsOf(PUBLIC[entry]), ...exportsOf(PUBLIC.picket)];
      const umbrella = new Set(exported.map(resolve));
      // A name picket gives to another type (its own ClientOptions, health's LoadReport) stays
      // that type's: one name, one type.
      const names = new Set(exported.map((symbol) => symbol.name));
      const packages = new Set(
        Object.entries(PUBLIC)
          .filter(([name]) => name.startsWith('@picket/'))
          .flatMap(([, file]) => exportsOf(file).map(resolve)),
      );
      const missing = new Set<string>();
      for (const symbol of exportsOf(PUBLIC[entry])) {
        for (const [target] of namedTypes(symbol)) {
          if (packages.has(target) && !umbrella.has(target) && !names.has(target.name))
            missing.add(`${target.name} (named by ${symbol.name})`);
        }
      }
      expect([...missing].sort()).toEqual([]);
    },
  );
});

// Checked by npm run typecheck (tsc reads this file); at run time these only pass.
describe('the types a user names', () => {
  it('include every option type the client options take', () => {
    expectTypeOf<NonNullable<ClientOptions['metrics']>>().toEqualTypeOf<MetricsOptions | false>();
    type Limits = NonNullable<NonNullable<ClientOptions['loadReports']>['max']>;
    expectTypeOf<Limits>().toEqualTypeOf<LoadReportLimits>();
  });

  it('narrow a caught error to the code asked for', () => {
    const caught: unknown = new PicketError('PICKET_TIMEOUT', 'late');
    if (isPicketError(caught, 'PICKET_TIMEOUT')) expectTypeOf(caught.code).toEqualTypeOf<'PICKET_TIMEOUT'>();
    if (isPicketError(caught)) expectTypeOf(caught.code).toEqualTypeOf<ErrorCode>();
    expect(isPicketError(caught, 'PICKET_TIMEOUT')).toBe(true);
    expect(isPicketError(caught, 'PICKET_OVERLOADED')).toBe(false);
  });

  it('give the dashboard instance state and breaker the client types', () => {
    expectTypeOf<InstanceView['state']>().toEqualTypeOf<InstanceState>();
    expectTypeOf<InstanceView['breaker']>().toEqualTypeOf<BreakerState | null>();
  });
});
