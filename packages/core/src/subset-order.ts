// The order in which a caller takes a service's instances into its subset: the first `size` are
// its members, the rest its standby, taken in turn when members fail. Pure functions of ids, so
// that every caller computes its own order without talking to the others.

import { hashString } from './hash.ts';

/**
 * Rendezvous (highest-random-weight) order of `ids` for `callerId` (Thaler and Ravishankar,
 * 1998; gRPC's random subsetting, proposal A68): each instance scores the hash of its id seeded
 * by the caller's, lowest first (the winner of the lowest random weight is as good as the highest). A caller's top `size` change by at most one member when one
 * instance joins or leaves, because no other instance's score moves.
 */
export function rendezvousOrder(callerId: string, ids: readonly string[]): string[] {
  return byHash(ids, hashString(callerId));
}

/**
 * Deterministic subsetting (Site Reliability Engineering, chapter 20, "Subset Selection"): the
 * instances are shuffled once per round, each round seeded by its number, and callers are dealt
 * consecutive slices of `size`. Caller `index` takes positions `index × size` onwards of the
 * endless sequence round 0, round 1, …; unlike the book, which leaves the `n mod size` instances
 * at the end of each round out, a slice that runs off the end of one round continues into the
 * next, so every instance is dealt to ⌊callers × size / n⌋ or one more callers whatever the
 * numbers. A shuffle is a sort by the hash of id and round, so it does not depend on the order
 * discovery lists the instances in. The standby order is the sequence that follows the slice.
 */
export function deterministicOrder(index: number, size: number, ids: readonly string[]): string[] {
  const n = ids.length;
  if (n === 0) return [];
  const start = index * Math.min(size, n);
  const round = Math.floor(start / n);
  const out: string[] = [];
  const taken = new Set<string>();
  // Two rounds from the slice's start list every id at least once.
  const first = dealt(ids, round, size);
  for (let i = start % n; i < n; i++) take(first[i] as string, out, taken);
  for (const id of dealt(ids, round + 1, size)) take(id, out, taken);
  return out;
}

/**
 * Round `round` as dealt: its shuffle, with any of the previous round's last `size` ids that fall
 * in its first `size` swapped into its middle, so that a slice running from one round into the next
 * never meets an id twice (and so never skips one, which would unbalance the deal). The swaps
 * leave a round's last `size` ids alone, so each round depends only on the previous shuffle.
 * Needs n ≥ 3 × size; below that a slice skips repeats instead.
 */
function dealt(ids: readonly string[], round: number, size: number): string[] {
  const order = shuffled(ids, round);
  const n = order.length;
  if (round === 0 || n < 3 * size) return order;
  const tail = new Set(shuffled(ids, round - 1).slice(n - size));
  let j = size;
  for (let i = 0; i < size; i++) {
    if (!tail.has(order[i] as string)) continue;
    while (tail.has(order[j] as string)) j++;
    [order[i], order[j]] = [order[j] as string, order[i] as string];
    j++;
  }
  return order;
}

function take(id: string, out: string[], taken: Set<string>): void {
  if (taken.has(id)) return;
  taken.add(id);
  out.push(id);
}

/** The instances of round `round`: sorted by the hash of id seeded by the round number. */
export function shuffled(ids: readonly string[], round: number): string[] {
  return byHash(ids, hashString(`picket-round-${round}`));
}

/** `ids` sorted by their hash seeded by `seed` (ties, vanishingly rare, by id). */
function byHash(ids: readonly string[], seed: number): string[] {
  const scored = ids.map((id) => ({ id, score: hashString(id, seed) }));
  scored.sort((a, b) => a.score - b.score || compareIds(a.id, b.id));
  return scored.map((s) => s.id);
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
