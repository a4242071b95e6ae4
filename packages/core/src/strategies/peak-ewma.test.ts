import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../endpoint.ts';
import { isPicketError } from '../errors.ts';
import { peakEwma } from './peak-ewma.ts';
import { countPicks, makeEndpoints, makePicker, shares, thrown, urlOf } from './testing.ts';

const TIMES = 20_000;

/** Sets an endpoint's latency EWMA as the balancer would after a release at `stamp`. */
function latency(endpoint: Endpoint, ms: number, stamp = 0): void {
  endpoint.ewmaMs = ms;
  endpoint.ewmaStamp = stamp;
  endpoint.sampled = true;
}

describe('peakEwma', () => {
  it('is named peak-ewma and hands its latency options to the balancer', () => {
    expect(peakEwma().name).toBe('peak-ewma');
    expect(peakEwma().latency).toEqual({ decayMs: 10_000, defaultRttMs: 30, failurePenaltyMs: 250 });
    expect(peakEwma({ decayMs: 5000, failurePenaltyMs: 0 }).latency).toEqual({
      decayMs: 5000,
      defaultRttMs: 30,
      failurePenaltyMs: 0,
    });
  });

  it('returns undefined for an empty set', () => {
    expect(makePicker(peakEwma(), []).pick(undefined, 0)).toBeUndefined();
  });

  it('spreads evenly over endpoints with the same latency and load', () => {
    const endpoints = makeEndpoints(4);
    for (const share of shares(countPicks(makePicker(peakEwma(), endpoints), TIMES), endpoints, TIMES)) {
      expect(share).toBeGreaterThan(0.23);
      expect(share).toBeLessThan(0.27);
    }
  });

  it('prefers the endpoint with lower latency', () => {
    const endpoints = makeEndpoints(3);
    latency(endpoints[0]!, 10);
    latency(endpoints[1]!, 100);
    latency(endpoints[2]!, 100);
    // Of two distinct draws out of three, the fast one is among them 2 times in 3.
    const s = shares(countPicks(makePicker(peakEwma(), endpoints), TIMES), endpoints, TIMES);
    expect(s[0]).toBeGreaterThan(0.64);
    expect(s[0]).toBeLessThan(0.69);
  });

  it('treats latencies within 25% of each other as equal between endpoints with nothing in flight', () => {
    const endpoints = makeEndpoints(2);
    latency(endpoints[0]!, 10);
    latency(endpoints[1]!, 12.4);
    const [a, b] = shares(countPicks(makePicker(peakEwma(), endpoints), TIMES), endpoints, TIMES);
    expect(a).toBeGreaterThan(0.47);
    expect(b).toBeGreaterThan(0.47);
    endpoints[0]!.active = 1; // under load the exact cost decides: 10 × 2 against 12.4 × 1
    expect(countPicks(makePicker(peakEwma(), endpoints), 100).get(urlOf(1))).toBe(100);
    endpoints[0]!.active = 0;
    latency(endpoints[1]!, 12.6); // beyond 25%: the lower latency wins every time
    expect(countPicks(makePicker(peakEwma(), endpoints), 100).get(urlOf(0))).toBe(100);
  });

  it("costs an endpoint that has not answered yet at its peers' latency (the default RTT without any)", () => {
    const endpoints = makeEndpoints(2);
    latency(endpoints[0]!, 29);
    // Unsampled, the other costs the tracker's peers' figure: the default 30 ms here, within 25%.
    const [a] = shares(countPicks(makePicker(peakEwma(), endpoints), TIMES), endpoints, TIMES);
    expect(a).toBeGreaterThan(0.47);
    expect(a).toBeLessThan(0.53);
    latency(endpoints[0]!, 20);
    expect(countPicks(makePicker(peakEwma(), endpoints), 100).get(urlOf(0))).toBe(100);
  });

  it('moves traffic away from an endpoint with many requests in flight', () => {
    const endpoints = makeEndpoints(2);
    latency(endpoints[0]!, 10);
    latency(endpoints[1]!, 100);
    const picker = makePicker(peakEwma(), endpoints);
    expect(picker.pick(undefined, 0)).toBe(endpoints[0]);
    endpoints[0]!.active = 20; // 10 ms × 21 > 100 ms × 1
    expect(countPicks(picker, 100).get(urlOf(1))).toBe(100);
  });

  it('tries a once-slow endpoint again after its latency has decayed', () => {
    const endpoints = makeEndpoints(2);
    latency(endpoints[0]!, 1000, 0);
    latency(endpoints[1]!, 30, 0);
    const picker = makePicker(peakEwma(), endpoints);
    expect(countPicks(picker, 100, undefined, 0).get(urlOf(1))).toBe(100);
    // The fast endpoint keeps answering, so its EWMA stays fresh; the slow one's fades.
    const later = 60_000; // 1000 ms × e^-6 ≈ 2.5 ms < 30 ms
    latency(endpoints[1]!, 30, later);
    expect(countPicks(picker, 100, undefined, later).get(urlOf(0))).toBe(100);
  });

  it('decays at the rate set by `decayMs`', () => {
    const endpoints = makeEndpoints(2);
    latency(endpoints[0]!, 1000, 0);
    latency(endpoints[1]!, 30, 10_000);
    const slow = makePicker(peakEwma({ decayMs: 100_000 }), endpoints);
    const fast = makePicker(peakEwma({ decayMs: 1000 }), endpoints);
    expect(slow.pick(undefined, 10_000)).toBe(endpoints[1]);
    expect(fast.pick(undefined, 10_000)).toBe(endpoints[0]);
  });

  it('divides cost by weight when weights differ', () => {
    const endpoints = makeEndpoints(2, [1, 3]);
    // Equal latencies, nothing in flight: in proportion to weight (3 to 1), not all to the heavier.
    const even = countPicks(makePicker(peakEwma(), endpoints), 1000);
    expect(even.get(urlOf(1))).toBeGreaterThan(650);
    expect(even.get(urlOf(1))).toBeLessThan(850);
    latency(endpoints[0]!, 10); // 10 / 1 < 60 / 3
    latency(endpoints[1]!, 60);
    expect(countPicks(makePicker(peakEwma(), endpoints), 100).get(urlOf(0))).toBe(100);
  });

  it('never returns an excluded endpoint', () => {
    const endpoints = makeEndpoints(3);
    latency(endpoints[0]!, 1);
    const exclude = new Set([urlOf(0)]);
    const counts = countPicks(makePicker(peakEwma(), endpoints), 3000, { exclude });
    expect(counts.get(urlOf(0))).toBeUndefined();
    expect(counts.get('')).toBeUndefined();
  });

  it('finds the cheapest endpoint left when most are excluded', () => {
    const endpoints = makeEndpoints(30);
    latency(endpoints[1]!, 500);
    const exclude = new Set(endpoints.slice(2).map((e) => e.instance.id));
    expect(countPicks(makePicker(peakEwma(), endpoints), 500, { exclude }).get(urlOf(0))).toBe(500);
  });

  it('returns undefined when every endpoint is excluded', () => {
    const exclude = new Set([urlOf(0), urlOf(1)]);
    expect(makePicker(peakEwma(), makeEndpoints(1)).pick({ exclude }, 0)).toBeUndefined();
    expect(makePicker(peakEwma(), makeEndpoints(2)).pick({ exclude }, 0)).toBeUndefined();
  });

  it('rejects invalid options, naming the option and the value', () => {
    const cases: [unknown, RegExp][] = [
      [{ decayMs: 0 }, /`decayMs` must be a positive number of milliseconds, got 0/],
      [{ decayMs: '10s' }, /`decayMs` must be a number of milliseconds, got "10s"/],
      [{ defaultRttMs: -1 }, /`defaultRttMs` must be a positive number of milliseconds, got -1/],
      [{ defaultRttMs: Number.POSITIVE_INFINITY }, /`defaultRttMs` .*got/],
      [{ decayMs: 3e9 }, /`decayMs` must be at most 2147483647 milliseconds, got 3000000000/],
      [{ failurePenaltyMs: -5 }, /`failurePenaltyMs` must be a non-negative number of milliseconds, got -5/],
      [42, /value must be an object, got 42/],
    ];
    for (const [options, message] of cases) {
      const error = thrown(() => peakEwma(options as never));
      expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
      expect(error.message).toMatch(/^Invalid peakEwma\(\) options: /);
      expect(error.message).toMatch(message);
    }
  });
});
