// The public declarations, read as a TypeScript user reads them (hover, autocomplete): every name
// a public entry exports says what it is, every field of an options interface is documented, and
// no public signature names a type that only @picket/core/internal exports (the plumbing, which
// changes without notice and which a user cannot import by a public path).

import { fileURLToPath } from 'node:url';
import type { InstanceState } from '@picket/core';
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

let program: ts.Program;
let checker: ts.TypeChecker;

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

function where(declaration: ts.Node): string {
  const source = declaration.getSourceFile();
  const { line } = source.getLineAndCharacterOfPosition(declaration.getStart());
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
}, 60_000);

describe('the public declarations', () => {
  // A type's name says what it is, and its fields say the rest (below, for options); what a user
  // calls (a function, a class, a constant) says what it does.
  it('document every exported function, class and constant', () => {
    const undocumented = new Set<string>();
    for (const [entry, file] of Object.entries(PUBLIC)) {
      for (const symbol of exportsOf(file)) {
        const target = resolve(symbol);
        if (!(target.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Class | ts.SymbolFlags.Variable)))
          continue;
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
        }
      }
    }
    expect([...undocumented]).toEqual([]);
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
    const isPublic = new Set<ts.Symbol>();
    for (const file of Object.values(PUBLIC))
      for (const symbol of exportsOf(file)) isPublic.add(resolve(symbol));
    const plumbing = new Set(
      exportsOf(INTERNAL)
        .map(resolve)
        .filter((symbol) => !isPublic.has(symbol)),
    );
    const leaks = new Set<string>();
    for (const [entry, file] of Object.entries(PUBLIC)) {
      for (const symbol of exportsOf(file)) {
        // Types the declaration names that no entry exports are read through too: their own
        // references are as visible on hover.
        const seen = new Set<ts.Symbol>();
        const read = (declaration: ts.Declaration): void => {
          const visit = (node: ts.Node): void => {
            // Bodies are not part of a declaration; a class's private members are not in its
            // declaration file (its `#private` shape is).
            if (ts.isBlock(node)) return;
            if ((ts.isPropertyDeclaration(node) || ts.isMethodDeclaration(node)) && isPrivate(node)) return;
            if (ts.isTypeReferenceNode(node) || ts.isExpressionWithTypeArguments(node)) {
              const name = ts.isTypeReferenceNode(node) ? node.typeName : node.expression;
              const found = checker.getSymbolAtLocation(name);
              const target = found === undefined ? undefined : resolve(found);
              if (target !== undefined && plumbing.has(target)) {
                leaks.add(`${entry}: ${symbol.name} names ${target.name} (${where(node)})`);
              } else if (target !== undefined && !isPublic.has(target) && !seen.has(target)) {
                seen.add(target);
                for (const d of target.declarations ?? []) if (ours(d)) read(d);
              }
            }
            ts.forEachChild(node, visit);
          };
          visit(declaration);
        };
        for (const declaration of resolve(symbol).declarations ?? []) read(declaration);
      }
    }
    expect([...leaks]).toEqual([]);
  });
});

// Checked by npm run typecheck (tsc reads this file); at run time these only pass.
describe('the types a user names', () => {
  it('include every option type the client options take', () => {
    expectTypeOf<NonNullable<ClientOptions['metrics']>>().toEqualTypeOf<MetricsOptions | false>();
    type Limits = NonNullable<NonNullable<ClientOptions['loadReports']>['max']>;
    expectTypeOf<Limits>().toEqualTypeOf<LoadReportLimits>();
  });

  it('give the dashboard instance state and breaker the client types', () => {
    expectTypeOf<InstanceView['state']>().toEqualTypeOf<InstanceState>();
    expectTypeOf<InstanceView['breaker']>().toEqualTypeOf<BreakerState | null>();
  });
});
