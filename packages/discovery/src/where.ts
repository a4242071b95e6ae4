// `where({ zone, metadata })`: a predicate for `filter()` that selects instances by zone and by
// metadata values, e.g. `filter(dns(...), where({ zone: 'eu-1', metadata: { canary: false } }))`.

import type { Instance } from '@picket/core';
import { type Agrees, parseWith } from '@picket/core/internal';
import { z } from 'zod';
import type { InstancePredicate } from './filter.ts';

type Scalar = string | number | boolean | null;

export interface WhereOptions {
  /** The instance's zone is this one, or one of these. Instances without a zone never match. */
  zone?: string | readonly string[];
  /** Each key's metadata value equals the given one, or one of the given list. */
  metadata?: Record<string, Scalar | readonly Scalar[]>;
}

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const schema = z.strictObject({
  zone: z.union([z.string(), z.array(z.string()).min(1).readonly()]).optional(),
  metadata: z.record(z.string(), z.union([scalar, z.array(scalar).min(1).readonly()])).optional(),
});

/** Builds a predicate for `filter()`. With no criteria it matches every instance. */
export function where(options: WhereOptions): InstancePredicate {
  const opts = parseWith(schema, options, 'Invalid where() selector');
  const zones =
    opts.zone === undefined ? undefined : new Set(Array.isArray(opts.zone) ? opts.zone : [opts.zone]);
  const wanted = Object.entries(opts.metadata ?? {}).map(
    ([key, value]) => [key, Array.isArray(value) ? value : [value]] as const,
  );
  return (instance: Instance) => {
    if (zones !== undefined && (instance.zone === undefined || !zones.has(instance.zone))) return false;
    for (const [key, values] of wanted) {
      if (!Object.hasOwn(instance.metadata, key)) return false;
      if (!values.includes(instance.metadata[key] as Scalar)) return false;
    }
    return true;
  };
}

// The documented options are the schema's input, field for field.
true satisfies Agrees<WhereOptions, z.input<typeof schema>>;
