// Random sources. Strategies take a `() => number` in [0, 1) so tests can seed them, and draw
// through `randomIndex` and `randomUnit`, which read a seeded source's state themselves: a
// double returned by a call V8 does not inline is boxed on the heap, and calls through a
// closure held in a field are the ones it tends not to inline, so drawing through the closure
// cost a young-generation GC every few hundred thousand picks.

import { describeValue, PicketError } from './errors.ts';

/** A random number in [0, 1), as `Math.random()` gives; `seededRandom(n)` makes a reproducible one. */
export type RandomSource = () => number;

const STATE = Symbol('picket.random.state');

/** A source made by `seededRandom`, carrying its state so that draws need not call it. */
type Seeded = RandomSource & { [STATE]?: Int32Array };

/**
 * One step of mulberry32: 32 random bits as a signed integer, which V8 never boxes. The state is
 * an Int32Array because a number in a closure variable is boxed whenever it leaves the small
 * integer range, every other step for a 32-bit state. Bitwise operators and Math.imul read their
 * operands as 32-bit integers, so the signed state gives the reference implementation's sequence.
 */
function step(state: Int32Array): number {
  let t = (state[0]! + 0x6d2b79f5) | 0;
  state[0] = t;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return t ^ (t >>> 14);
}

/** A small, fast, seedable generator (mulberry32). Not for cryptography. */
export function seededRandom(seed: number): RandomSource {
  if (typeof seed !== 'number' || !Number.isFinite(seed)) {
    throw new PicketError(
      'PICKET_INVALID_OPTIONS',
      `seededRandom: \`seed\` must be a finite number, got ${describeValue(seed)}`,
    );
  }
  const state = new Int32Array(1);
  state[0] = seed;
  const random: Seeded = () => (step(state) >>> 0) / 4294967296;
  random[STATE] = state;
  return random;
}

/**
 * A seeded generator with a random seed: what a balancer draws from when not given a source.
 * Not Math.random, which returns every draw in a new heap box.
 */
export function unseededRandom(): RandomSource {
  return seededRandom(Math.floor(Math.random() * 4294967296));
}

/** The next draw of `random`, in [0, 1). */
export function randomUnit(random: RandomSource): number {
  const state = (random as Seeded)[STATE];
  return state === undefined ? random() : (step(state) >>> 0) / 4294967296;
}

/** An integer in [0, n). An integer result is never boxed, however the call is compiled. */
export function randomIndex(random: RandomSource, n: number): number {
  const state = (random as Seeded)[STATE];
  return Math.floor((state === undefined ? random() : (step(state) >>> 0) / 4294967296) * n);
}
