// The strategy contract as a custom strategy meets it: the balancer's own endpoints, read-only.
// The type-level cases are checked by `npm run typecheck` (an unused @ts-expect-error is an error).

import { describe, expect, expectTypeOf, it } from 'vitest';
import { createBalancer } from './balancer.ts';
import { seededRandom } from './random.ts';
import type { EndpointView, Picker, Strategy } from './strategy.ts';

/** Fewest in flight wins, first listed on a tie; remembers the endpoints it was last given. */
function fewestInFlight(seen: { endpoints: readonly EndpointView[] }): Strategy {
  return {
    name: 'fewest-in-flight',
    create: () => ({
      rebuild(endpoints) {
        seen.endpoints = endpoints;
      },
      pick(ctx) {
        let best: EndpointView | undefined;
        for (const e of seen.endpoints) {
          if (ctx?.exclude?.has(e.instance.id)) continue;
          if (best === undefined || e.active < best.active) best = e;
        }
        return best;
      },
    }),
  };
}

/** Every write a strategy might try; never called, only type-checked. */
function tamper(endpoint: EndpointView, endpoints: readonly EndpointView[]): void {
  // @ts-expect-error: the balancer owns the in-flight count
  endpoint.active = 0;
  // @ts-expect-error: and the weight
  endpoint.weight = 100;
  // @ts-expect-error: and the latency figures
  endpoint.ewmaMs = 1;
  // @ts-expect-error: and the release counts
  endpoint.failures = 0;
  // @ts-expect-error: and the load report
  endpoint.load.rps = 1;
  // @ts-expect-error: the instance record is immutable
  endpoint.instance.weight = 2;
  // @ts-expect-error: the list is the balancer's too
  endpoints.push(endpoint);
}

describe('a custom strategy', () => {
  it('reads the in-flight counts and releases the balancer keeps on its endpoints', () => {
    const seen = { endpoints: [] as readonly EndpointView[] };
    const lb = createBalancer({ strategy: fewestInFlight(seen), random: seededRandom(1) });
    lb.update(['http://127.0.0.1:8001', 'http://127.0.0.1:8002']);
    const first = lb.pick();
    const second = lb.pick();
    expect(second.instance.id).not.toBe(first.instance.id);
    first.release({ ok: true, latencyMs: 5 });
    const view = seen.endpoints.find((e) => e.instance.id === first.instance.id);
    expect(view).toMatchObject({ active: 0, requests: 1, failures: 0 });
    expect(lb.pick().instance.id).toBe(first.instance.id);
  });

  it('is handed read-only views of them', () => {
    expectTypeOf<Parameters<Picker['rebuild']>[0]>().toEqualTypeOf<readonly EndpointView[]>();
    expectTypeOf<ReturnType<Picker['pick']>>().toEqualTypeOf<EndpointView | undefined>();
    expectTypeOf(tamper).toBeFunction();
  });
});
