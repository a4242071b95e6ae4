// The README option tables against the schemas that parse the options: every row names an option
// the schema has (`retry.budget` is followed into `retry`'s schema), and every option the schema
// has is named by a row, so neither can drift from the other unnoticed.

import { readFileSync } from 'node:fs';
import { healthOptionsSchema } from '@picket/health';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { balancerSchema } from '../../packages/core/src/balancer-options.ts';
import { offOr, offOrInner } from '../../packages/core/src/options.ts';
import { subsetSchema } from '../../packages/core/src/subset-options.ts';
import { consulSchema } from '../../packages/discovery/src/consul.ts';
import { dnsSchema } from '../../packages/discovery/src/dns.ts';
import { etcdSchema } from '../../packages/discovery/src/etcd.ts';
import { fileListSchema } from '../../packages/discovery/src/file-list.ts';
import { kubernetesSchema } from '../../packages/discovery/src/kubernetes.ts';
import { BALANCER_KEYS, clientSchema } from '../../packages/http/src/config.ts';
import { dashboardSchema } from '../../src/dashboard/options.ts';

const ROOT = new URL('../../', import.meta.url);

/**
 * The option names in the first column of the table under `heading` in `file` (the first table
 * after the first line that contains it): every back-quoted name in each row's first cell.
 */
function tableOptions(file: string, heading: string): string[] {
  const lines = readFileSync(new URL(file, ROOT), 'utf8').split('\n');
  const start = lines.findIndex((line) => line.includes(heading));
  if (start < 0) throw new Error(`${file}: no line with ${JSON.stringify(heading)}`);
  let i = lines[start]?.startsWith('|') ? start : start + 1;
  while (i < lines.length && !lines[i]?.startsWith('|')) i++;
  const names: string[] = [];
  // Skip the header and the separator row.
  for (i += 2; i < lines.length && lines[i]?.startsWith('|'); i++) {
    const first = lines[i]?.split('|')[1] ?? '';
    for (const match of first.matchAll(/`([A-Za-z][\w.]*)`/g)) names.push(match[1] as string);
  }
  if (names.length === 0) throw new Error(`${file}: no option rows under ${JSON.stringify(heading)}`);
  return names;
}

/** The object schema under defaults, optionals, `false |` (offOr) and the like, or undefined. */
function objectOf(schema: z.ZodType | undefined): z.ZodObject | undefined {
  let current = schema;
  for (let depth = 0; current !== undefined && depth < 10; depth++) {
    if (current instanceof z.ZodObject) return current;
    const inner = offOrInner.get(current);
    if (inner !== undefined) {
      current = inner;
      continue;
    }
    const def = (current as { def?: { innerType?: z.ZodType; in?: z.ZodType } }).def;
    current = def?.innerType ?? def?.in;
  }
  return undefined;
}

/** Whether `path` (`retry.budget.percent`) names an option of `schema`. */
function hasOption(schema: z.ZodObject, path: string): boolean {
  let current: z.ZodObject | undefined = schema;
  const parts = path.split('.');
  for (const [i, part] of parts.entries()) {
    const field = current?.shape[part] as z.ZodType | undefined;
    if (field === undefined) return false;
    if (i < parts.length - 1) current = objectOf(field);
  }
  return true;
}

interface Table {
  file: string;
  heading: string;
  schema: z.ZodObject;
  /** Keys the options take beside the schema's own (passed through to the balancer). */
  extra?: readonly string[];
}

const TABLES: Record<string, Table> = {
  'README: createClient options': {
    file: 'README.md',
    heading: '## Options',
    schema: clientSchema,
    extra: BALANCER_KEYS,
  },
  'README: subset': { file: 'README.md', heading: '| `subset` field', schema: subsetSchema },
  'README: dashboard': { file: 'README.md', heading: '### Dashboard', schema: dashboardSchema },
  '@picket/core README: createBalancer options': {
    file: 'packages/core/README.md',
    heading: '## Options (`createBalancer(options)`)',
    schema: balancerSchema,
  },
  '@picket/health README: createHealthChecker options': {
    file: 'packages/health/README.md',
    heading: '## `createHealthChecker(balancer, options)`',
    schema: healthOptionsSchema,
  },
  '@picket/discovery README: fileList': {
    file: 'packages/discovery/README.md',
    heading: '### `fileList(path, options?)`',
    schema: fileListSchema,
  },
  '@picket/discovery README: dns': {
    file: 'packages/discovery/README.md',
    heading: '### `dns(options)`',
    schema: dnsSchema,
  },
  '@picket/discovery README: etcd': {
    file: 'packages/discovery/README.md',
    heading: '### `etcd(options)`',
    schema: etcdSchema,
  },
  '@picket/discovery README: consul': {
    file: 'packages/discovery/README.md',
    heading: '`consul()` reads',
    schema: consulSchema,
  },
  '@picket/discovery README: kubernetes': {
    file: 'packages/discovery/README.md',
    heading: '### `kubernetes(options)`',
    schema: kubernetesSchema,
  },
  '@picket/http README: createClient options': {
    file: 'packages/http/README.md',
    heading: '## Options',
    schema: clientSchema,
    extra: BALANCER_KEYS,
  },
};

describe('README option tables agree with the schemas', () => {
  it.each(Object.entries(TABLES))('%s: every row names an option', (_, table) => {
    const extra = new Set(table.extra ?? []);
    const unknown = tableOptions(table.file, table.heading).filter(
      (name) => !extra.has(name) && !hasOption(table.schema, name),
    );
    expect(unknown).toEqual([]);
  });

  it.each(Object.entries(TABLES))('%s: every option has a row', (_, table) => {
    const named = new Set(tableOptions(table.file, table.heading).map((name) => name.split('.')[0]));
    const keys = [...Object.keys(table.schema.shape), ...(table.extra ?? [])];
    expect(keys.filter((key) => !named.has(key))).toEqual([]);
  });

  it('finds a row that names no option, and an option no row names', () => {
    // The check itself: a made-up row and a made-up option are both caught.
    const schema = z.strictObject({
      a: z.number(),
      b: offOr(z.strictObject({ c: z.number() })).default(false),
    });
    expect(hasOption(schema, 'b.c')).toBe(true);
    expect(hasOption(schema, 'b.d')).toBe(false);
    expect(hasOption(schema, 'z')).toBe(false);
  });
});
