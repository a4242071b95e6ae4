import { describe, expect, it } from 'vitest';
import { isPicketError } from '../errors.ts';
import { leastRequest } from './least-request.ts';
import { countPicks, makeEndpoints, makePicker, shares, thrown, urlOf } from './testing.ts';

const TIMES = 20_000;

describe('leastRequest', () => {
  it('is named least-request', () => {
    expect(leastRequest().name).toBe('least-request');
  });

  it('returns undefined for an empty set', () => {
    expect(makePicker(leastRequest(), []).pick(undefined, 0)).toBeUndefined();
  });

  it('spreads evenly over idle endpoints of equal weight', () => {
    const endpoints = makeEndpoints(5);
    for (const share of shares(countPicks(makePicker(leastRequest(), endpoints), TIMES), endpoints, TIMES)) {
      expect(share).toBeGreaterThan(0.18);
      expect(share).toBeLessThan(0.22);
    }
  });

  it('prefers the endpoint with fewer requests in flight', () => {
    const endpoints = makeEndpoints(2);
    endpoints[0]!.active = 3;
    expect(countPicks(makePicker(leastRequest(), endpoints), 100).get(urlOf(1))).toBe(100);
  });

  it('never sends to the busiest endpoint and favours an idle one by the power of two choices', () => {
    const endpoints = makeEndpoints(10);
    for (const e of endpoints) e.active = 3;
    endpoints[0]!.active = 0; // idle: wins whenever sampled, 2 in 10 draws
    endpoints[9]!.active = 9; // busiest: loses whenever sampled
    const s = shares(countPicks(makePicker(leastRequest(), endpoints), TIMES), endpoints, TIMES);
    expect(s[0]).toBeGreaterThan(0.18);
    expect(s[0]).toBeLessThan(0.22);
    expect(s[9]).toBe(0);
  });

  it('samples `choices` distinct endpoints', () => {
    const endpoints = makeEndpoints(10);
    for (const e of endpoints) e.active = 3;
    endpoints[0]!.active = 0;
    const s = shares(
      countPicks(makePicker(leastRequest({ choices: 3 }), endpoints), TIMES),
      endpoints,
      TIMES,
    );
    expect(s[0]).toBeGreaterThan(0.28);
    expect(s[0]).toBeLessThan(0.32);
  });

  it('takes the least loaded of all when `choices` covers the set', () => {
    const endpoints = makeEndpoints(3);
    endpoints[0]!.active = 2;
    endpoints[1]!.active = 1;
    endpoints[2]!.active = 2;
    expect(countPicks(makePicker(leastRequest({ choices: 5 }), endpoints), 100).get(urlOf(1))).toBe(100);
  });

  it('breaks ties at random', () => {
    const endpoints = makeEndpoints(2);
    const [a] = shares(countPicks(makePicker(leastRequest(), endpoints), TIMES), endpoints, TIMES);
    expect(a).toBeGreaterThan(0.47);
    expect(a).toBeLessThan(0.53);
  });

  it('splits idle traffic in proportion to weights 1:2:3', () => {
    const endpoints = makeEndpoints(3, [1, 2, 3]);
    const [a, b, c] = shares(countPicks(makePicker(leastRequest(), endpoints), 6000), endpoints, 6000);
    expect(a).toBeCloseTo(1 / 6, 2);
    expect(b).toBeCloseTo(2 / 6, 2);
    expect(c).toBeCloseTo(3 / 6, 2);
  });

  it('lowers the share of a weighted endpoint by its requests in flight', () => {
    const endpoints = makeEndpoints(2, [1, 2]);
    endpoints[1]!.active = 3; // effective weight 2 / (3 + 1) = 0.5 against 1
    const loaded = shares(countPicks(makePicker(leastRequest(), endpoints), 6000), endpoints, 6000);
    expect(loaded[1]).toBeCloseTo(1 / 3, 2);
    // With no bias, load is ignored and weights alone decide.
    const plain = makePicker(leastRequest({ activeRequestBias: 0 }), endpoints);
    expect(shares(countPicks(plain, 6000), endpoints, 6000)[1]).toBeCloseTo(2 / 3, 2);
  });

  it('never returns an excluded endpoint', () => {
    const exclude = new Set([urlOf(0)]);
    for (const weights of [undefined, [1, 2, 3]]) {
      const endpoints = makeEndpoints(3, weights);
      endpoints[1]!.active = 5;
      const counts = countPicks(makePicker(leastRequest(), endpoints), 3000, { exclude });
      expect(counts.get(urlOf(0))).toBeUndefined();
      expect(counts.get('')).toBeUndefined();
    }
  });

  it('finds the endpoint left when most are excluded', () => {
    const endpoints = makeEndpoints(20);
    const exclude = new Set(endpoints.slice(1).map((e) => e.instance.id));
    for (const choices of [2, 4]) {
      const counts = countPicks(makePicker(leastRequest({ choices }), endpoints), 500, { exclude });
      expect(counts.get(urlOf(0))).toBe(500);
    }
  });

  it('returns undefined when every endpoint is excluded', () => {
    const exclude = new Set([urlOf(0), urlOf(1)]);
    expect(makePicker(leastRequest(), makeEndpoints(2)).pick({ exclude }, 0)).toBeUndefined();
    expect(makePicker(leastRequest(), makeEndpoints(2, [1, 2])).pick({ exclude }, 0)).toBeUndefined();
  });

  it('rejects invalid options, naming the option and the value', () => {
    const cases: [unknown, RegExp][] = [
      [{ choices: 1 }, /`choices` must be an integer from 2 to 100, got 1/],
      [{ choices: 2.5 }, /`choices` .*got 2\.5/],
      [{ activeRequestBias: -1 }, /`activeRequestBias` must be a number from 0 to 10, got -1/],
      [{ activeRequestBias: '1' }, /`activeRequestBias` .*got "1"/],
      [{ choice: 3 }, /unknown option `choice`/],
    ];
    for (const [options, message] of cases) {
      const error = thrown(() => leastRequest(options as never));
      expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
      expect(error.message).toMatch(/^Invalid leastRequest\(\) options: /);
      expect(error.message).toMatch(message);
    }
  });
});
