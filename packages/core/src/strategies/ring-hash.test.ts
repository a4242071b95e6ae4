import { describe, expect, it } from 'vitest';
import { isPicketError } from '../errors.ts';
import { ringHash } from './ring-hash.ts';
import { countPicks, keyOwners, makeEndpoints, makePicker, shares, thrown, urlOf } from './testing.ts';

const KEYS = 10_000;

function keyShares(owners: readonly string[], ids: readonly string[]): number[] {
  return ids.map((id) => owners.filter((o) => o === id).length / owners.length);
}

describe('ringHash', () => {
  it('is named ring-hash', () => {
    expect(ringHash().name).toBe('ring-hash');
  });

  it('returns undefined for an empty set', () => {
    expect(makePicker(ringHash(), []).pick({ key: 'a' }, 0)).toBeUndefined();
    expect(makePicker(ringHash(), []).pick(undefined, 0)).toBeUndefined();
  });

  it('sends the same key to the same endpoint, whichever client and endpoint order', () => {
    const endpoints = makeEndpoints(8);
    const first = keyOwners(makePicker(ringHash(), endpoints, 1), 2000);
    const again = keyOwners(makePicker(ringHash(), [...endpoints].reverse(), 2), 2000);
    expect(again).toEqual(first);
    const picker = makePicker(ringHash(), endpoints);
    expect(picker.pick({ key: 42 }, 0)).toBe(picker.pick({ key: 42 }, 0));
  });

  it('spreads keys about evenly over endpoints of equal weight', () => {
    const endpoints = makeEndpoints(10);
    const owners = keyOwners(makePicker(ringHash(), endpoints), KEYS);
    for (const share of keyShares(
      owners,
      endpoints.map((e) => e.instance.id),
    )) {
      expect(share).toBeGreaterThan(0.06);
      expect(share).toBeLessThan(0.14);
    }
  });

  it('gives keys in proportion to weights 1:2:3', () => {
    const endpoints = makeEndpoints(3, [1, 2, 3]);
    const owners = keyOwners(makePicker(ringHash(), endpoints), KEYS);
    const [a, b, c] = keyShares(
      owners,
      endpoints.map((e) => e.instance.id),
    );
    expect(Math.abs(a! - 1 / 6)).toBeLessThan(0.04);
    expect(Math.abs(b! - 2 / 6)).toBeLessThan(0.05);
    expect(Math.abs(c! - 3 / 6)).toBeLessThan(0.05);
  });

  it('moves only the keys of a removed endpoint, about 1/N of them', () => {
    const endpoints = makeEndpoints(10);
    const picker = makePicker(ringHash(), endpoints);
    const before = keyOwners(picker, KEYS);
    const gone = urlOf(3);
    picker.rebuild(endpoints.filter((e) => e.instance.id !== gone));
    const after = keyOwners(picker, KEYS);
    let moved = 0;
    for (let k = 0; k < KEYS; k++) {
      if (before[k] === after[k]) continue;
      moved++;
      expect(before[k]).toBe(gone);
    }
    expect(moved / KEYS).toBeGreaterThan(0.05);
    expect(moved / KEYS).toBeLessThan(0.17);
  });

  it('moves only keys onto an added endpoint', () => {
    const endpoints = makeEndpoints(11);
    const picker = makePicker(ringHash(), endpoints.slice(0, 10));
    const before = keyOwners(picker, KEYS);
    picker.rebuild(endpoints);
    const after = keyOwners(picker, KEYS);
    let moved = 0;
    for (let k = 0; k < KEYS; k++) {
      if (before[k] === after[k]) continue;
      moved++;
      expect(after[k]).toBe(urlOf(10));
    }
    expect(moved / KEYS).toBeGreaterThan(0.04);
    expect(moved / KEYS).toBeLessThan(0.16);
  });

  it('spreads requests without a key over the ring', () => {
    const endpoints = makeEndpoints(4);
    for (const share of shares(countPicks(makePicker(ringHash(), endpoints), 20_000), endpoints, 20_000)) {
      expect(share).toBeGreaterThan(0.15);
      expect(share).toBeLessThan(0.35);
    }
  });

  it('sends the keys of an excluded endpoint clockwise to the next one, the same way every time', () => {
    const endpoints = makeEndpoints(5);
    const picker = makePicker(ringHash(), endpoints);
    const before = keyOwners(picker, 2000);
    const exclude = new Set([urlOf(2)]);
    const first = keyOwners(picker, 2000, exclude);
    expect(keyOwners(picker, 2000, exclude)).toEqual(first);
    for (let k = 0; k < 2000; k++) {
      expect(first[k]).not.toBe(urlOf(2));
      expect(first[k]).not.toBe('');
      // Keys on other endpoints stay where they were.
      if (before[k] !== urlOf(2)) expect(first[k]).toBe(before[k]);
    }
    // The excluded endpoint's keys are shared out, not all dumped on one neighbour.
    const moved = new Set(first.filter((_, k) => before[k] === urlOf(2)));
    expect(moved.size).toBeGreaterThan(1);
  });

  it('returns undefined when every endpoint is excluded', () => {
    const exclude = new Set([urlOf(0), urlOf(1)]);
    expect(makePicker(ringHash(), makeEndpoints(2)).pick({ key: 'k', exclude }, 0)).toBeUndefined();
  });

  it('rejects invalid options, naming the option and the value', () => {
    const cases: [unknown, RegExp][] = [
      [{ minRingSize: 0 }, /`minRingSize` must be an integer from 1 to 8388608, got 0/],
      [{ minRingSize: 100.5 }, /`minRingSize` .*got 100\.5/],
      [{ maxRingSize: 2 ** 24 }, /`maxRingSize` must be an integer from 1 to 8388608, got 16777216/],
      [{ minRingSize: 4096, maxRingSize: 1024 }, /`maxRingSize` must be at least `minRingSize`, got 1024/],
    ];
    for (const [options, message] of cases) {
      const error = thrown(() => ringHash(options as never));
      expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
      expect(error.message).toMatch(/^Invalid ringHash\(\) options: /);
      expect(error.message).toMatch(message);
    }
  });
});
