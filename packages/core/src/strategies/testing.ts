// Helpers for the strategy tests: endpoints from records, seeded pickers and pick counting.
// Imported by tests only; not part of the package.

import { Endpoint } from '../endpoint.ts';
import { toInstance } from '../instance.ts';
import type { PickContext } from '../outcome.ts';
import { seededRandom } from '../random.ts';
import type { Picker, Strategy } from '../strategy.ts';

/** `http://127.0.0.1:8001`, `…:8002`, …: the url, and id, of the i-th test endpoint. */
export function urlOf(i: number): string {
  return `http://127.0.0.1:${8001 + i}`;
}

/** `count` endpoints, with the given weights when there are any. */
export function makeEndpoints(count: number, weights?: readonly number[]): Endpoint[] {
  const out: Endpoint[] = [];
  for (let i = 0; i < count; i++) {
    const weight = weights?.[i];
    const record = weight === undefined ? urlOf(i) : { url: urlOf(i), weight };
    out.push(new Endpoint(toInstance(record)));
  }
  return out;
}

/**
 * A picker of `strategy` over `endpoints`, with seeded randomness and a settable clock. Typed over
 * the records, as the balancer holds it: a test plays the balancer and sets their in-flight counts.
 */
export function makePicker(strategy: Strategy, endpoints: readonly Endpoint[], seed = 1, clock = { now: 0 }) {
  const picker = strategy.create({ random: seededRandom(seed), now: () => clock.now }) as Picker<Endpoint>;
  picker.rebuild(endpoints);
  return picker;
}

/** Picks `times` times and counts the picks per instance id (`undefined` picks under ''). */
export function countPicks(picker: Picker, times: number, ctx?: PickContext, now = 0): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < times; i++) {
    const id = picker.pick(ctx, now)?.instance.id ?? '';
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** Share of picks per endpoint, in endpoint order. */
export function shares(counts: Map<string, number>, endpoints: readonly Endpoint[], times: number): number[] {
  return endpoints.map((e) => (counts.get(e.instance.id) ?? 0) / times);
}

/** Maps each key 0…keys-1 to the id of the endpoint it picks. */
export function keyOwners(picker: Picker, keys: number, exclude?: ReadonlySet<string>): string[] {
  const owners: string[] = [];
  for (let k = 0; k < keys; k++)
    owners.push(picker.pick({ key: `user-${k}`, exclude }, 0)?.instance.id ?? '');
  return owners;
}

/** Runs `fn` and returns the error it throws (failing if it does not throw). */
export function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a throw');
}
