// Small pieces shared by the strategies: reading the exclude set, weight checks, and the zod
// fields their options are built from. Internal to the strategies; not exported by the package.

import { z } from 'zod';
import type { Endpoint } from '../endpoint.ts';
import type { PickContext } from '../outcome.ts';

/** The exclude set of a pick, or undefined when nothing is excluded (the fast path). */
export function exclusions(ctx: PickContext | undefined): ReadonlySet<string> | undefined {
  const exclude = ctx?.exclude;
  return exclude === undefined || exclude.size === 0 ? undefined : exclude;
}

/** The weight an endpoint is balanced on; anything not a positive finite number counts as 0. */
export function weightOf(endpoint: Endpoint): number {
  const w = endpoint.weight;
  return w > 0 && w < Number.POSITIVE_INFINITY ? w : 0;
}

/** True when every endpoint has the same weight, so strategies can take their unweighted path. */
export function sameWeights(endpoints: readonly Endpoint[]): boolean {
  const n = endpoints.length;
  if (n < 2) return true;
  const first = weightOf(endpoints[0]!);
  for (let i = 1; i < n; i++) if (weightOf(endpoints[i]!) !== first) return false;
  return true;
}

/**
 * True when `exclude` rules out every endpoint. Cheap to call before an O(table) walk: a set
 * smaller than the endpoint list cannot cover it, so only then are the endpoints scanned.
 */
export function allExcluded(endpoints: readonly Endpoint[], exclude: ReadonlySet<string>): boolean {
  if (exclude.size < endpoints.length) return false;
  for (let i = 0; i < endpoints.length; i++) if (!exclude.has(endpoints[i]!.instance.id)) return false;
  return true;
}

/** A duration option in milliseconds: positive and finite. */
export function durationMs(fallback: number) {
  return z
    .number({ error: 'must be a number of milliseconds' })
    .positive({ error: 'must be a positive number of milliseconds' })
    .default(fallback);
}

/** An integer option within [min, max]. */
export function integerIn(min: number, max: number, fallback: number) {
  const range = `must be an integer from ${min} to ${max}`;
  return z
    .number({ error: range })
    .int({ error: range })
    .min(min, { error: range })
    .max(max, { error: range })
    .default(fallback);
}
