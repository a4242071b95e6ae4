import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBalancer } from './balancer.ts';
import { isPicketError } from './errors.ts';
import type { Outcome } from './outcome.ts';
import { seededRandom } from './random.ts';
import { STRATEGY_NAMES } from './strategies/index.ts';
import type { StrategyName } from './types.ts';

const record = fc.record({
  n: fc.integer({ min: 0, max: 15 }),
  priority: fc.integer({ min: 0, max: 2 }),
  weight: fc.integer({ min: 1, max: 5 }),
  zone: fc.constantFrom('a', 'b'),
});

const toRecords = (rs: { n: number; priority: number; weight: number; zone: string }[]) => {
  const seen = new Set<number>();
  return rs
    .filter((r) => !seen.has(r.n) && seen.add(r.n))
    .map((r) => ({
      url: `http://10.0.0.${r.n + 1}:80`,
      priority: r.priority,
      weight: r.weight,
      zone: r.zone,
    }));
};

const outcome: fc.Arbitrary<Outcome> = fc.oneof(
  fc.constant({ ok: true, latencyMs: 2, status: 200 }),
  fc.constant({ ok: false, latencyMs: 1, status: 503 }),
  fc.constant({ ok: false, status: 404 }),
  fc.constant({ ok: false, error: 'connect' as const }),
  fc.constant({ ok: false, error: 'timeout' as const, latencyMs: 1000 }),
);

const op = fc.oneof(
  fc.record({
    kind: fc.constant('pick' as const),
    exclude: fc.array(fc.integer({ min: 0, max: 15 }), { maxLength: 4 }),
    outcome,
    key: fc.string(),
  }),
  fc.record({
    kind: fc.constant('health' as const),
    n: fc.integer({ min: 0, max: 15 }),
    state: fc.constantFrom('healthy', 'unhealthy', 'unknown') as fc.Arbitrary<
      'healthy' | 'unhealthy' | 'unknown'
    >,
  }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 40_000 }) }),
  fc.record({ kind: fc.constant('update' as const), records: fc.array(record, { maxLength: 8 }) }),
);

describe('balancer properties', () => {
  it('never returns an excluded or ejected instance unless panic applies, and never throws while one is pickable', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...(STRATEGY_NAMES as readonly StrategyName[])),
        fc.array(record, { minLength: 1, maxLength: 10 }),
        fc.array(op, { maxLength: 80 }),
        fc.integer(),
        fc.constantFrom(0, 50),
        (strategy, initial, ops, seed, panicThreshold) => {
          let t = 0;
          const lb = createBalancer({
            strategy,
            panicThreshold,
            random: seededRandom(seed),
            now: () => t,
            zone: 'a',
            slowStart: { windowMs: 5000 },
            outlierDetection: { consecutiveFailures: 2, maxEjectionPercent: 50 },
          });
          lb.update(toRecords(initial));
          for (const step of ops) {
            if (step.kind === 'advance') t += step.ms;
            else if (step.kind === 'health')
              lb.setHealth(`http://10.0.0.${step.n + 1}:80`, step.state, 'test');
            else if (step.kind === 'update') lb.update(toRecords(step.records));
            else {
              const exclude = new Set(step.exclude.map((n) => `http://10.0.0.${n + 1}:80`));
              const snap = lb.snapshot();
              const members = snap.instances.filter((s) => s.state !== 'draining');
              const pickable = members.filter(
                (s) =>
                  !exclude.has(s.id) &&
                  (s.state === 'healthy' || s.state === 'unknown' || s.state === 'warming'),
              );
              let picked: ReturnType<typeof lb.pick> | undefined;
              try {
                picked = lb.pick({ exclude, key: step.key });
              } catch (error) {
                expect(isPicketError(error)).toBe(true);
                expect(pickable).toEqual([]);
                continue;
              }
              const id = picked.instance.id;
              expect(exclude.has(id)).toBe(false);
              const state = members.find((s) => s.id === id)?.state;
              expect(state).toBeDefined();
              if (state === 'ejected' || state === 'unhealthy') {
                expect(lb.snapshot().panic).toContain(picked.instance.priority);
              }
              picked.release(step.outcome);
            }
          }
        },
      ),
      { numRuns: 300, seed: 20261122 },
    );
  });
});
