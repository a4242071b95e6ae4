import { describe, expect, it } from 'vitest';
import { createBalancer } from './balancer.ts';
import { Endpoint } from './endpoint.ts';
import { toInstance } from './instance.ts';
import { LatencyTracker } from './latency.ts';
import { type RandomSource, seededRandom } from './random.ts';
import type { Balancer, BalancerOptions } from './types.ts';

const urls = [
  'http://127.0.0.1:8001',
  'http://127.0.0.1:8002',
  'http://127.0.0.1:8003',
  'http://127.0.0.1:8004',
];
const SEEDS = [1, 2, 3, 4, 5, 6];

/** A peak-EWMA balancer on a clock the test moves, with seeded randomness. */
function fleet(seed: number, options: BalancerOptions = {}) {
  const clock = { now: 0 };
  const lb = createBalancer({ random: seededRandom(seed), now: () => clock.now, ...options });
  return { lb, clock };
}

/** 0.5 ms ± 20%: equal instances answering with some noise. */
function equal(seed: number): () => number {
  const random = seededRandom(seed + 100);
  return () => 0.5 * (1 + 0.2 * (random() * 2 - 1));
}

/**
 * Sends `n` requests one after another, each answered in `latencyOf(id)` ms, `gapMs` apart, and
 * counts them by instance.
 */
function serial(
  lb: Balancer,
  clock: { now: number },
  n: number,
  latencyOf: (id: string) => number,
  gapMs = 0.2,
): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const pick = lb.pick();
    const latencyMs = latencyOf(pick.instance.id);
    clock.now += latencyMs;
    pick.release({ ok: true, status: 200, latencyMs });
    clock.now += gapMs;
    counts.set(pick.instance.id, (counts.get(pick.instance.id) ?? 0) + 1);
  }
  return counts;
}

const shareOf = (counts: Map<string, number>, id: string, n: number) => (counts.get(id) ?? 0) / n;

describe('peak-EWMA under light load', () => {
  it('spreads 300 sequential requests over three equal instances, each getting at least 20%', () => {
    for (const seed of SEEDS) {
      const { lb, clock } = fleet(seed);
      lb.update(urls.slice(0, 3));
      clock.now = 1000; // the first request a second after start-up
      const noisy = equal(seed);
      const counts = serial(lb, clock, 300, noisy);
      for (const url of urls.slice(0, 3)) expect(shareOf(counts, url, 300)).toBeGreaterThanOrEqual(0.2);
    }
  });

  it('spreads serial requests over instances of weights 1 and 2, about a third to the lighter', () => {
    for (const seed of SEEDS) {
      const { lb, clock } = fleet(seed);
      lb.update([urls[0]!, { url: urls[1]!, weight: 2 }]);
      clock.now = 1000;
      const counts = serial(lb, clock, 300, equal(seed));
      expect(shareOf(counts, urls[0]!, 300), `seed ${seed}`).toBeGreaterThan(0.2);
      expect(shareOf(counts, urls[0]!, 300), `seed ${seed}`).toBeLessThan(0.45);
    }
  });

  it('spreads two callers over instances of weights 1 and 2, the lighter getting its share', () => {
    for (const seed of SEEDS) {
      const { lb, clock } = fleet(seed);
      lb.update([urls[0]!, { url: urls[1]!, weight: 2 }]);
      clock.now = 1000;
      const latency = equal(seed);
      const counts = new Map<string, number>();
      // Two callers, their requests overlapping: one is always in flight when the other picks.
      let held = lb.pick();
      for (let i = 0; i < 300; i++) {
        const next = lb.pick();
        counts.set(next.instance.id, (counts.get(next.instance.id) ?? 0) + 1);
        const latencyMs = latency();
        clock.now += latencyMs;
        held.release({ ok: true, status: 200, latencyMs });
        held = next;
        clock.now += 0.2;
      }
      held.release({ ok: true, status: 200, latencyMs: 0.5 });
      // Capacity-proportional would be a third; starved, it got none.
      expect(shareOf(counts, urls[0]!, 300), `seed ${seed}`).toBeGreaterThan(0.2);
    }
  });

  it('gives an instance added to a measured fleet its share at once', () => {
    for (const seed of SEEDS) {
      const { lb, clock } = fleet(seed);
      lb.update(urls.slice(0, 3));
      const noisy = equal(seed);
      serial(lb, clock, 6000, noisy, 10); // a minute of light traffic: the estimates are measured
      lb.update(urls);
      const counts = serial(lb, clock, 300, noisy);
      // At least 60% of an even share, as the 20% of three above.
      expect(shareOf(counts, urls[3]!, 300)).toBeGreaterThanOrEqual(0.15);
    }
  });

  it('sends a slow instance at most 1% of sequential requests once it has answered', () => {
    for (const seed of SEEDS) {
      const { lb, clock } = fleet(seed);
      lb.update(urls.slice(0, 3));
      const noisy = equal(seed);
      const counts = serial(lb, clock, 3000, (id) => (id === urls[2] ? 50 : noisy()));
      expect(shareOf(counts, urls[2]!, 3000)).toBeLessThanOrEqual(0.01);
    }
  });

  it("costs an instance back from ejection at its peers' latency, not at the failures it left with", () => {
    for (const seed of SEEDS) {
      const { lb, clock } = fleet(seed, {
        outlierDetection: { consecutiveFailures: 3, maxEjectionPercent: 100 },
      });
      lb.update(urls.slice(0, 3));
      const noisy = equal(seed);
      serial(lb, clock, 3000, noisy, 1);
      const others = new Set(urls.slice(0, 2));
      for (let i = 0; i < 3; i++)
        lb.pick({ exclude: others }).release({ ok: false, status: 503, latencyMs: 1 });
      expect(lb.snapshot().instances[2]).toMatchObject({ state: 'ejected', latencyMs: 250 });
      clock.now += 31_000; // the 30 s ejection ends
      const counts = serial(lb, clock, 300, noisy);
      expect(shareOf(counts, urls[2]!, 300)).toBeGreaterThanOrEqual(0.2);
    }
  });

  it("costs an instance that has not answered at the mean of its peers' current latency", () => {
    const { lb, clock } = fleet(1, { outlierDetection: false });
    lb.update(urls.slice(0, 2));
    // Two answers each, a's 10 then 30 ms, b's 20 then 60 ms.
    for (const [i, ms] of [10, 20, 30, 60].entries()) {
      lb.pick({ exclude: new Set([urls[(i + 1) % 2]!]) }).release({ ok: true, latencyMs: ms });
    }
    clock.now += 5000;
    lb.update(urls.slice(0, 3));
    const [a, b, c] = lb.snapshot().instances;
    // The first answers only seed the estimates (at the default 30 ms), the second ones count as
    // peaks; five seconds later all have decayed alike.
    expect(a!.latencyMs).toBeCloseTo(30 * Math.exp(-0.5), 9);
    expect(b!.latencyMs).toBeCloseTo(60 * Math.exp(-0.5), 9);
    expect(c!.latencyMs).toBeCloseTo((a!.latencyMs + b!.latencyMs) / 2, 9);
  });

  it('takes the first answer since joining for connection setup, and the next ones as latency', () => {
    const { lb, clock } = fleet(1, { outlierDetection: false });
    lb.update(urls.slice(0, 1));
    lb.pick().release({ ok: true, latencyMs: 80 });
    expect(lb.snapshot().instances[0]!.latencyMs).toBe(30);
    clock.now += 1;
    lb.pick().release({ ok: true, latencyMs: 80 });
    expect(lb.snapshot().instances[0]!.latencyMs).toBe(80);
  });

  it("starts from the default RTT decayed since the balancer's start, as an unused instance always did", () => {
    const { lb, clock } = fleet(1, { outlierDetection: false });
    lb.update(urls.slice(0, 2));
    clock.now = 10_000; // a client made ten seconds before its first request
    expect(lb.snapshot().instances[0]!.latencyMs).toBeCloseTo(30 / Math.E, 9);
    lb.pick().release({ ok: true, latencyMs: 80 });
    lb.pick().release({ ok: true, latencyMs: 1 });
    for (const instance of lb.snapshot().instances) expect(instance.latencyMs).toBeCloseTo(30 / Math.E, 9);
  });

  it('counts a failed first answer at once', () => {
    const { lb } = fleet(1, { outlierDetection: false });
    lb.update(urls.slice(0, 1));
    lb.pick().release({ ok: false, error: 'connect', latencyMs: 1 });
    expect(lb.snapshot().instances[0]!.latencyMs).toBe(250);
  });
});

describe('LatencyTracker', () => {
  /** The peers' figure computed the slow way: the mean of the counted endpoints' decayed EWMAs. */
  function bruteForce(endpoints: readonly Endpoint[], now: number, decayMs: number): number | undefined {
    const counted = endpoints.filter((e) => e.counted);
    if (counted.length === 0) return undefined;
    return counted.reduce((sum, e) => sum + e.ewmaAt(now, decayMs), 0) / counted.length;
  }

  function step(
    random: RandomSource,
    tracker: LatencyTracker,
    endpoints: Endpoint[],
    clock: { now: number },
  ) {
    const e = endpoints[Math.floor(random() * endpoints.length)]!;
    const r = random();
    if (r < 0.05) tracker.forget(e);
    else if (r < 0.1) {
      // A state change and the rebuild that follows it.
      e.ejectedUntil = random() < 0.5 ? clock.now + 30_000 : 0;
      tracker.recount(endpoints, clock.now);
    } else {
      // Some outcomes arrive a little out of order.
      tracker.clock[0] = clock.now - (random() < 0.1 ? random() * 50 : 0);
      const failed = random() < 0.05;
      tracker.record(e, { ok: !failed, latencyMs: random() < 0.02 ? 2000 : random() * 5 }, failed);
    }
    // Now and then a long pause: hours, far beyond the point where the sum is re-based.
    clock.now += random() < 0.01 ? random() * 3_600_000 : random() * 20;
  }

  it('keeps the running peers’ mean equal to the mean of their decayed EWMAs, over a day of operations', () => {
    for (const seed of SEEDS) {
      const random = seededRandom(seed);
      const tracker = new LatencyTracker({ decayMs: 10_000, defaultRttMs: 30, failurePenaltyMs: 250 });
      const endpoints = urls.map((url) => new Endpoint(toInstance(url), tracker));
      const clock = { now: 1_000 };
      for (let i = 0; i < 20_000; i++) {
        step(random, tracker, endpoints, clock);
        const expected = bruteForce(endpoints, clock.now, tracker.decayMs);
        if (expected === undefined) continue;
        expect(tracker.peersAt(clock.now)).toBeCloseTo(expected, Math.max(0, 9 - Math.log10(expected + 1)));
      }
    }
  });

  it('counts only endpoints that have answered and may be picked', () => {
    const tracker = new LatencyTracker({ decayMs: 10_000, defaultRttMs: 30, failurePenaltyMs: 250 });
    const [a, b, c] = urls.map((url) => new Endpoint(toInstance(url), tracker));
    for (const e of [a!, b!, c!]) {
      tracker.record(e, { ok: true, latencyMs: 1 }, false);
      tracker.record(e, { ok: true, latencyMs: e === c ? 90 : 30 }, false);
    }
    expect(tracker.peersAt(0)).toBeCloseTo(50, 9);
    c!.unhealthyBits = 1;
    tracker.recount([a!, b!, c!], 0);
    expect(tracker.peersAt(0)).toBeCloseTo(30, 9);
    tracker.forget(a!);
    tracker.forget(b!);
    // None left: the default, decaying from then on.
    expect(tracker.peersAt(0)).toBe(30);
    expect(tracker.peersAt(10_000)).toBeCloseTo(30 / Math.E, 9);
    expect([a!.sampled, a!.counted, a!.latencySamples]).toEqual([false, false, 0]);
  });
});

describe('the estimate of an instance that stops answering', () => {
  it('is at least the time since its last answer while two or more requests are in flight', () => {
    const { lb, clock } = fleet(1);
    lb.update(urls.slice(0, 1));
    const latencyMs = () => lb.snapshot().instances[0]!.latencyMs;
    lb.pick().release({ ok: true, status: 200, latencyMs: 1 }); // seeds its EWMA at the default 30 ms
    const ewma = (now: number) => 30 * Math.exp(-now / 10_000);
    const first = lb.pick();
    clock.now = 100;
    // One request, however long, is not a sign: a long call must not make its instance look dead.
    expect(latencyMs()).toBeCloseTo(ewma(100), 9);
    const second = lb.pick();
    clock.now = 250;
    expect(latencyMs()).toBe(250);
    // An answer lifts the floor, even with the first still in flight.
    second.release({ ok: true, status: 200, latencyMs: 1 });
    expect(latencyMs()).toBeLessThan(30);
    lb.pick();
    clock.now = 260;
    expect(latencyMs()).toBeLessThan(30);
    first.release({ ok: true, status: 200, latencyMs: 260 });
  });
});
