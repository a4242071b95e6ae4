import { describe, expect, it } from 'vitest';
import { createBalancer } from '../balancer.ts';
import type { Endpoint } from '../endpoint.ts';
import { isPicketError } from '../errors.ts';
import { seededRandom } from '../random.ts';
import type { PickHandle } from '../types.ts';
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

  it('costs an endpoint with requests in flight at least the time since its last answer', () => {
    const endpoints = makeEndpoints(2);
    // Both answered in 1 ms, the first last at 0 ms; the second still answers (last at 10 ms).
    latency(endpoints[0]!, 1, 0);
    latency(endpoints[1]!, 1, 10);
    endpoints[0]!.active = 2;
    endpoints[1]!.active = 5;
    const picker = makePicker(peakEwma(), endpoints);
    // Its EWMA alone says 1 ms × 3 < 1 ms × 6; it has not answered for 10 ms: 10 ms × 3.
    expect(countPicks(picker, 100, undefined, 10).get(urlOf(1))).toBe(100);
    // Right after an answer the floor is gone, and in-flight counts decide again.
    latency(endpoints[0]!, 1, 10);
    expect(countPicks(picker, 100, undefined, 10).get(urlOf(0))).toBe(100);
  });

  it('does not cost one long request in flight at its age: the endpoint keeps its share', () => {
    const endpoints = makeEndpoints(2);
    // A 10 s call on the first, nothing else since its last answer; the second answers (at 10 s).
    latency(endpoints[0]!, 1, 0);
    latency(endpoints[1]!, 1, 10_000);
    endpoints[0]!.active = 1;
    endpoints[1]!.active = 1;
    const picker = makePicker(peakEwma(), endpoints);
    // 1 ms decayed over 10 s (0.37 ms) × 2 against 1 ms × 2: the first is still the cheaper.
    expect(countPicks(picker, 100, undefined, 10_000).get(urlOf(0))).toBe(100);
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

/**
 * `callers` closed-loop callers through a balancer over three instances, on a clock the test
 * moves. The first two answer in 1 ms, the third in 0.5 ms (± 20%), and 1 answer in 20,000 takes
 * 5-50 ms (a loaded machine's scheduling stall, which the peak-EWMA believes at once and forgets
 * over seconds). From `hangAt` until `until` the third answers nothing. Returns how many requests
 * were sent to it meanwhile, and when the last was, ms after `hangAt`.
 */
function sentToHung(seed: number, callers: number, hangAt: number, until: number) {
  const clock = { now: 0 };
  const lb = createBalancer({ random: seededRandom(seed), now: () => clock.now });
  lb.update([urlOf(0), urlOf(1), urlOf(2)]);
  const noise = seededRandom(seed + 100);
  const pending: { at: number; ms: number; pick: PickHandle }[] = [];
  const sent = { count: 0, lastMs: 0 };
  const send = () => {
    const pick = lb.pick();
    const third = pick.instance.id === urlOf(2);
    const ms = noise() < 1 / 20_000 ? 5 + 45 * noise() : (third ? 0.5 : 1) * (0.8 + 0.4 * noise());
    const hung = third && clock.now + ms >= hangAt;
    if (hung && clock.now >= hangAt) {
      sent.count++;
      sent.lastMs = clock.now - hangAt;
    }
    pending.push({ at: hung ? Number.POSITIVE_INFINITY : clock.now + ms, ms, pick });
  };
  for (let c = 0; c < callers; c++) send();
  for (;;) {
    let next = 0;
    for (let k = 1; k < pending.length; k++) if (pending[k]!.at < pending[next]!.at) next = k;
    const { at, ms, pick } = pending[next]!;
    if (at > until) return sent;
    pending.splice(next, 1);
    clock.now = at;
    pick.release({ ok: true, status: 200, latencyMs: ms });
    send();
  }
}

describe('peakEwma with an instance that stops answering', () => {
  it('stops sending it requests once it has been silent for longer than its latency', () => {
    // Its EWMA decays towards 0 while nothing completes there: costed by its in-flight count
    // alone, it won again whenever a stall raised a peer's estimate, and took 4-7 requests (seeds
    // 1-8) beyond those in flight when it stopped, the last 7-19 s in; now 0-2, within 26 ms.
    for (const seed of [1, 2, 3, 4]) {
      const sent = sentToHung(seed, 12, 2000, 22_000);
      expect(sent.count).toBeLessThanOrEqual(4);
      expect(sent.lastMs).toBeLessThan(100);
    }
  });
});
