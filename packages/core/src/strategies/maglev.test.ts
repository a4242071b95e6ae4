import { describe, expect, it } from 'vitest';
import { isPicketError } from '../errors.ts';
import { maglev } from './maglev.ts';
import { countPicks, keyOwners, makeEndpoints, makePicker, shares, thrown, urlOf } from './testing.ts';

const KEYS = 20_000;

function keyShares(owners: readonly string[], ids: readonly string[]): number[] {
  return ids.map((id) => owners.filter((o) => o === id).length / owners.length);
}

describe('maglev', () => {
  it('is named maglev', () => {
    expect(maglev().name).toBe('maglev');
  });

  it('returns undefined for an empty set', () => {
    expect(makePicker(maglev(), []).pick({ key: 'a' }, 0)).toBeUndefined();
    expect(makePicker(maglev(), []).pick(undefined, 0)).toBeUndefined();
  });

  it('sends the same key to the same endpoint, whichever client and endpoint order', () => {
    const endpoints = makeEndpoints(8);
    const first = keyOwners(makePicker(maglev(), endpoints, 1), 2000);
    const again = keyOwners(makePicker(maglev(), [...endpoints].reverse(), 2), 2000);
    expect(again).toEqual(first);
  });

  it('builds the same table from the hashes it keeps on endpoints as from fresh ones', () => {
    const kept = makeEndpoints(12);
    const picker = makePicker(maglev(), kept);
    // Rebuilt after a change, from hashes computed at the first build…
    picker.rebuild(kept.filter((e) => e.instance.id !== urlOf(5)));
    expect(kept.every((e) => e.maglevSkipHash !== 0)).toBe(true);
    // …it matches a picker that hashes the same ids anew.
    const fresh = makeEndpoints(12).filter((e) => e.instance.id !== urlOf(5));
    expect(fresh.every((e) => e.maglevSkipHash === 0)).toBe(true);
    expect(keyOwners(picker, 2000)).toEqual(keyOwners(makePicker(maglev(), fresh), 2000));
  });

  it('gives every endpoint of equal weight an even share of the table', () => {
    const endpoints = makeEndpoints(10);
    // Picks without a key land on uniformly random slots: shares of picks estimate table shares.
    const picks = 100_000;
    for (const share of shares(countPicks(makePicker(maglev(), endpoints), picks), endpoints, picks)) {
      expect(share).toBeGreaterThan(0.095);
      expect(share).toBeLessThan(0.105);
    }
    const owners = keyOwners(makePicker(maglev(), endpoints), KEYS);
    for (const share of keyShares(
      owners,
      endpoints.map((e) => e.instance.id),
    )) {
      expect(share).toBeGreaterThan(0.09);
      expect(share).toBeLessThan(0.11);
    }
  });

  it('gives table shares in proportion to weights 1:2:3', () => {
    const endpoints = makeEndpoints(3, [1, 2, 3]);
    const picks = 60_000;
    const [a, b, c] = shares(countPicks(makePicker(maglev(), endpoints), picks), endpoints, picks);
    expect(Math.abs(a! - 1 / 6)).toBeLessThan(0.01);
    expect(Math.abs(b! - 2 / 6)).toBeLessThan(0.01);
    expect(Math.abs(c! - 3 / 6)).toBeLessThan(0.01);
  });

  it('moves little more than the keys of a removed endpoint', () => {
    const endpoints = makeEndpoints(10);
    const picker = makePicker(maglev(), endpoints);
    const before = keyOwners(picker, KEYS);
    const gone = urlOf(3);
    picker.rebuild(endpoints.filter((e) => e.instance.id !== gone));
    const after = keyOwners(picker, KEYS);
    let moved = 0;
    let movedElsewhere = 0;
    for (let k = 0; k < KEYS; k++) {
      if (before[k] === after[k]) continue;
      moved++;
      if (before[k] !== gone) movedElsewhere++;
    }
    expect(moved / KEYS).toBeGreaterThan(0.08);
    expect(moved / KEYS).toBeLessThan(0.13);
    expect(movedElsewhere / KEYS).toBeLessThan(0.02);
    expect(after).not.toContain(gone);
  });

  it('walks past an excluded endpoint to the next slot, the same way every time', () => {
    const endpoints = makeEndpoints(5);
    const picker = makePicker(maglev(), endpoints);
    const before = keyOwners(picker, 2000);
    const exclude = new Set([urlOf(2)]);
    const first = keyOwners(picker, 2000, exclude);
    expect(keyOwners(picker, 2000, exclude)).toEqual(first);
    for (let k = 0; k < 2000; k++) {
      expect(first[k]).not.toBe(urlOf(2));
      expect(first[k]).not.toBe('');
      if (before[k] !== urlOf(2)) expect(first[k]).toBe(before[k]);
    }
    expect(countPicks(picker, 2000, { exclude }).get(urlOf(2))).toBeUndefined();
  });

  it('returns undefined when every endpoint is excluded', () => {
    const exclude = new Set([urlOf(0), urlOf(1)]);
    expect(makePicker(maglev(), makeEndpoints(2)).pick({ key: 'k', exclude }, 0)).toBeUndefined();
  });

  it('works with a small prime table', () => {
    const endpoints = makeEndpoints(3);
    const counts = countPicks(makePicker(maglev({ tableSize: 7 }), endpoints), 700);
    expect(counts.size).toBe(3);
  });

  it('rejects invalid options, naming the option and the value', () => {
    const cases: [unknown, RegExp][] = [
      [{ tableSize: 65536 }, /`tableSize` must be a prime number up to 5000011 .*got 65536/],
      [{ tableSize: 1 }, /`tableSize` must be a prime number .*got 1/],
      [{ tableSize: 101.5 }, /`tableSize` must be a prime number up to 5000011, got 101\.5/],
      [{ tableSize: 10_000_019 }, /`tableSize` must be a prime number up to 5000011, got 10000019/],
      [{ tableSize: '65537' }, /`tableSize` .*got "65537"/],
    ];
    for (const [options, message] of cases) {
      const error = thrown(() => maglev(options as never));
      expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
      expect(error.message).toMatch(/^Invalid maglev\(\) options: /);
      expect(error.message).toMatch(message);
    }
  });
});
