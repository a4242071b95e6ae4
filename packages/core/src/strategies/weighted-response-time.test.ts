import { describe, expect, it } from 'vitest';
import { createBalancer } from '../balancer.ts';
import type { Endpoint } from '../endpoint.ts';
import { isPicketError } from '../errors.ts';
import { seededRandom } from '../random.ts';
import { countPicks, makeEndpoints, makePicker, shares, thrown, urlOf } from './testing.ts';
import { weightedResponseTime } from './weighted-response-time.ts';

const TIMES = 30_000;

/** Records `samples` requests averaging `averageMs`, as the balancer would on release. */
function measured(endpoint: Endpoint, averageMs: number, samples = 10): void {
  endpoint.latencySamples = samples;
  endpoint.latencyTotalMs = averageMs * samples;
}

function near(actual: number | undefined, expected: number, tolerance = 0.015): void {
  expect(Math.abs((actual ?? Number.NaN) - expected)).toBeLessThan(tolerance);
}

describe('weightedResponseTime', () => {
  it('is named weighted-response-time', () => {
    expect(weightedResponseTime().name).toBe('weighted-response-time');
  });

  it('returns undefined for an empty set', () => {
    expect(makePicker(weightedResponseTime(), []).pick(undefined, 0)).toBeUndefined();
  });

  it('spreads evenly before any latency is measured', () => {
    const endpoints = makeEndpoints(3);
    for (const share of shares(
      countPicks(makePicker(weightedResponseTime(), endpoints), TIMES),
      endpoints,
      TIMES,
    )) {
      near(share, 1 / 3);
    }
  });

  it('follows weights 1:2:3 before any latency is measured', () => {
    const endpoints = makeEndpoints(3, [1, 2, 3]);
    const [a, b, c] = shares(
      countPicks(makePicker(weightedResponseTime(), endpoints), TIMES),
      endpoints,
      TIMES,
    );
    near(a, 1 / 6);
    near(b, 2 / 6);
    near(c, 3 / 6);
  });

  it('gives each endpoint the sum of averages minus its own average', () => {
    const endpoints = makeEndpoints(3);
    measured(endpoints[0]!, 10);
    measured(endpoints[1]!, 30);
    measured(endpoints[2]!, 60);
    // Total 100: shares 90, 70 and 40 out of 200.
    const [a, b, c] = shares(
      countPicks(makePicker(weightedResponseTime(), endpoints), TIMES),
      endpoints,
      TIMES,
    );
    near(a, 0.45);
    near(b, 0.35);
    near(c, 0.2);
  });

  it('counts an endpoint not yet measured as the mean of the others', () => {
    const endpoints = makeEndpoints(3);
    measured(endpoints[0]!, 10);
    measured(endpoints[1]!, 30);
    // Unmeasured counts as 20: total 60, shares 50, 30 and 40 out of 120.
    const [a, b, c] = shares(
      countPicks(makePicker(weightedResponseTime(), endpoints), TIMES),
      endpoints,
      TIMES,
    );
    near(a, 50 / 120);
    near(b, 30 / 120);
    near(c, 40 / 120);
  });

  it('recomputes shares once the interval has passed, and on rebuild', () => {
    const endpoints = makeEndpoints(2);
    const clock = { now: 0 };
    const picker = makePicker(weightedResponseTime({ intervalMs: 1000 }), endpoints, 1, clock);
    measured(endpoints[0]!, 90);
    measured(endpoints[1]!, 10);
    near(shares(countPicks(picker, TIMES, undefined, 999), endpoints, TIMES)[0], 0.5);
    near(shares(countPicks(picker, TIMES, undefined, 1000), endpoints, TIMES)[0], 0.1);
    measured(endpoints[0]!, 10);
    measured(endpoints[1]!, 90);
    clock.now = 1500;
    picker.rebuild(endpoints);
    near(shares(countPicks(picker, TIMES, undefined, 1500), endpoints, TIMES)[0], 0.9);
  });

  it('counts an instance back from ejection as average, not by the latencies it had while failing', () => {
    let now = 0;
    const lb = createBalancer({
      strategy: weightedResponseTime(),
      random: seededRandom(3),
      now: () => now,
      outlierDetection: { consecutiveFailures: 5, maxEjectionPercent: 100 },
    });
    const ids = [urlOf(0), urlOf(1), urlOf(2)];
    lb.update(ids);
    for (let i = 0; i < 300; i++) lb.pick().release({ ok: true, latencyMs: 1 });
    // The third times out five times in a row, at 2 s each, and is ejected for 30 s.
    const others = new Set(ids.slice(0, 2));
    for (let i = 0; i < 5; i++)
      lb.pick({ exclude: others }).release({ ok: false, error: 'timeout', latencyMs: 2000 });
    expect(lb.snapshot().instances[2]).toMatchObject({ state: 'ejected' });
    now += 30_000;
    const counts = new Map<string, number>();
    for (let i = 0; i < TIMES; i++) {
      const pick = lb.pick();
      counts.set(pick.instance.id, (counts.get(pick.instance.id) ?? 0) + 1);
      pick.release({ ok: true, latencyMs: 1 });
    }
    // Its mean latency since returning (none yet, then 1 ms), not ~100 ms from before.
    near((counts.get(ids[2]!) ?? 0) / TIMES, 1 / 3);
  });

  it('never returns an excluded endpoint', () => {
    const endpoints = makeEndpoints(3);
    measured(endpoints[0]!, 1);
    const exclude = new Set([urlOf(0)]);
    const counts = countPicks(makePicker(weightedResponseTime(), endpoints), 3000, { exclude });
    expect(counts.get(urlOf(0))).toBeUndefined();
    expect(counts.get('')).toBeUndefined();
  });

  it('returns undefined when every endpoint is excluded', () => {
    const exclude = new Set([urlOf(0), urlOf(1)]);
    expect(makePicker(weightedResponseTime(), makeEndpoints(2)).pick({ exclude }, 0)).toBeUndefined();
  });

  it('rejects invalid options, naming the option and the value', () => {
    const cases: [unknown, RegExp][] = [
      [{ intervalMs: 0 }, /`intervalMs` must be a positive number of milliseconds, got 0/],
      [{ intervalMs: '30s' }, /`intervalMs` must be a number of milliseconds, got "30s"/],
      [{ intervalMs: 2 ** 31 }, /`intervalMs` must be at most 2147483647 milliseconds, got 2147483648/],
      [{ interval: 5 }, /unknown option `interval`/],
    ];
    for (const [options, message] of cases) {
      const error = thrown(() => weightedResponseTime(options as never));
      expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
      expect(error.message).toMatch(/^Invalid weightedResponseTime\(\) options: /);
      expect(error.message).toMatch(message);
    }
  });
});
