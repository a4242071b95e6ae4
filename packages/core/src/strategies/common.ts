// Small pieces shared by the strategies: reading the exclude set, weight checks, and the zod
// fields their options are built from. Internal to the strategies; not exported by the package.

import { z } from 'zod';
import { MAX_DURATION_MS } from '../duration.ts';
import type { Endpoint } from '../endpoint.ts';
import type { PickContext } from '../outcome.ts';
import type { BalancerLoad } from '../strategy.ts';

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
 * Round robin's turn: the index of the first endpoint from `start` on (wrapping) not in
 * `exclude`, or -1 when every one is excluded.
 */
export function nextAllowed(
  endpoints: readonly Endpoint[],
  start: number,
  exclude: ReadonlySet<string> | undefined,
): number {
  const n = endpoints.length;
  if (exclude === undefined) return start < n ? start : -1;
  let index = start;
  for (let tried = 0; tried < n; tried++) {
    if (!exclude.has(endpoints[index]!.instance.id)) return index;
    index = index + 1 === n ? 0 : index + 1;
  }
  return -1;
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

/** Past the one duration rule's ceiling (duration.ts): no duration option goes beyond 2^31 - 1 ms. */
export const DURATION_TOO_LONG = `must be at most ${MAX_DURATION_MS} milliseconds`;

/** A duration option in milliseconds: positive, up to the duration rule's ceiling. */
export function durationMs(fallback: number) {
  return z
    .number({ error: 'must be a number of milliseconds' })
    .positive({ error: 'must be a positive number of milliseconds' })
    .max(MAX_DURATION_MS, { error: DURATION_TOO_LONG })
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

/**
 * `hashBalanceFactor` of the hashing strategies (bounded-load consistent hashing): a finite
 * number of at least 1, or unset for off.
 */
export const hashBalanceFactor = z
  .number({ error: 'must be a number of at least 1 (1.25 is a common choice), or unset' })
  .min(1, { error: 'must be a number of at least 1 (1.25 is a common choice), or unset' })
  .max(Number.MAX_VALUE, { error: 'must be a finite number of at least 1, or unset' })
  .optional();

/**
 * In-flight picks over `endpoints` as a bounded-load picker counts them: the balancer's running
 * total when there is one (O(1)), else the sum of their `active` (a picker outside a balancer).
 */
export function inFlightOf(load: BalancerLoad | undefined, endpoints: readonly Endpoint[]): number {
  if (load !== undefined) return load.inFlight;
  let total = 0;
  for (let i = 0; i < endpoints.length; i++) total += endpoints[i]!.active;
  return total;
}

/** The weight a bounded-load picker shares load by: an endpoint weighing 0 counts as 1. */
export function loadWeight(endpoint: Endpoint): number {
  const w = weightOf(endpoint);
  return w > 0 ? w : 1;
}
