import { describe, expect, it } from 'vitest';
import { randomIndex, randomUnit, seededRandom, unseededRandom } from './random.ts';

describe('seededRandom', () => {
  it('refuses a seed that is not a finite number, typed (a BigInt or an object threw a TypeError)', () => {
    for (const [seed, shown] of [
      [5n, '5n'],
      [Object.create(null), '{}'],
      [Number.NaN, 'NaN'],
      ['42', '"42"'],
    ] as const) {
      expect(() => seededRandom(seed as never)).toThrow(
        `seededRandom: \`seed\` must be a finite number, got ${shown}`,
      );
    }
  });

  it("keeps mulberry32's reference sequence", () => {
    const random = seededRandom(42);
    expect([random(), random(), random()]).toEqual([
      0.6011037519201636, 0.44829055899754167, 0.8524657934904099,
    ]);
  });

  it('gives the same draws through randomUnit and randomIndex as by calling the source', () => {
    const direct = seededRandom(7);
    const drawn = seededRandom(7);
    for (let i = 0; i < 1000; i++) {
      if (i % 2 === 0) expect(randomUnit(drawn)).toBe(direct());
      else expect(randomIndex(drawn, 37)).toBe(Math.floor(direct() * 37));
    }
  });

  it('calls a source of any other kind', () => {
    const values = [0.25, 0.75];
    const source = () => values.shift() ?? 0;
    expect(randomUnit(source)).toBe(0.25);
    expect(randomIndex(source, 4)).toBe(3);
  });

  it('seeds an unseeded generator differently each time', () => {
    expect(unseededRandom()()).not.toBe(unseededRandom()());
  });
});
