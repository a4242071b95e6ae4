// Subsetting's options (`subset: { size, mode, callerId, peers }`), parsed once into a defaulted
// form. The caller's id defaults to `callerIdFromEnvironment()`.

import { z } from 'zod';
import { callerIdFromEnvironment } from './caller-id.ts';
import { type Agrees, integer, nonEmptyString } from './fields.ts';
import { parseWith } from './options.ts';

/** A caller's place among the instances of its own service, from its StatefulSet ordinal or the like. */
export interface PeerPlace {
  /** This caller's position, 0 ≤ index < count. */
  index: number;
  /** How many callers there are. */
  count: number;
}

/** An instance list of the calling service itself (a discovery provider, matched by shape). */
export interface PeerSource {
  /** Subscribes to each new list of the caller's own instances; returns the unsubscribe function. */
  on(name: 'snapshot', fn: (payload: { instances: readonly { id: string }[] }) => void): () => void;
  /** The latest list, or undefined before the first. */
  current():
    | readonly {
        /** The instance's id. */
        id: string;
      }[]
    | undefined;
  /** Called with the balancer's first `update()`. */
  start?(): void;
  /** Called when the balancer (or subset) closes. */
  close?(): unknown;
}

export interface SubsetOptions {
  /** Instances each caller uses (connects to, checks, measures). A service with no more uses all. */
  size: number;
  /**
   * `'random'` (default): rendezvous hashing of `callerId` with each instance id, no coordination.
   * `'deterministic'`: slices dealt by the caller's place among its peers (`peers` required).
   */
  mode?: 'random' | 'deterministic';
  /**
   * This caller's id, for `'random'` and to find itself in a `peers` source. Default:
   * `PICKET_CALLER_ID`, else the host name (with `NODE_APP_INSTANCE` or the cluster worker id).
   */
  callerId?: string;
  /**
   * Deterministic mode: this caller's `{ index, count }`, or `{ discovery, self }`: the calling
   * service's own instances (a provider, started and closed with the client) and the id this
   * process has among them; its index is its rank among their ids, sorted.
   */
  peers?:
    | PeerPlace
    | {
        /** The calling service's own instances (a discovery provider). */
        discovery: PeerSource;
        /** This process's id among them. */
        self: string;
      };
}

const placeSchema = z
  .strictObject({
    index: integer(0),
    count: integer(1),
  })
  .refine((p) => p.index < p.count, { error: 'must have index < count', path: ['index'] });

const sourceSchema = z.strictObject({
  discovery: z.custom<PeerSource>(
    (v) =>
      v !== null &&
      typeof v === 'object' &&
      typeof (v as PeerSource).on === 'function' &&
      typeof (v as PeerSource).current === 'function',
    { error: 'must be a discovery provider of the calling service' },
  ),
  self: z.string({ error: 'must be this process’s instance id' }).min(1, { error: 'must not be empty' }),
});

/** The `subset` option's schema, for a client's options to embed (paths then read `subset.size`). */
export const subsetSchema = z
  .strictObject({
    size: integer(1),
    mode: z
      .enum(['random', 'deterministic'], { error: "must be 'random' or 'deterministic'" })
      .default('random'),
    callerId: nonEmptyString.optional(),
    peers: z
      .union([placeSchema, sourceSchema], { error: 'must be { index, count } or { discovery, self }' })
      .optional(),
  })
  .refine((o) => o.mode !== 'deterministic' || o.peers !== undefined, {
    error:
      "is required with mode 'deterministic' ({ index, count } or { discovery, self }; or use mode 'random')",
    path: ['peers'],
  });

true satisfies Agrees<SubsetOptions, z.input<typeof subsetSchema>>;

export interface SubsetConfig {
  size: number;
  mode: 'random' | 'deterministic';
  callerId: string;
  peers: PeerPlace | { discovery: PeerSource; self: string } | undefined;
}

/** Parses `subset` options; PICKET_INVALID_OPTIONS names the field (`subset.size`) and its value. */
export function parseSubsetOptions(options: unknown): SubsetConfig {
  return subsetConfig(parseWith(subsetSchema, options, 'Invalid subset options'));
}

/** The defaulted form of options `subsetSchema` has parsed (where a larger schema embeds it). */
export function subsetConfig(parsed: z.output<typeof subsetSchema>): SubsetConfig {
  return {
    size: parsed.size,
    mode: parsed.mode,
    callerId: parsed.callerId ?? callerIdFromEnvironment(),
    peers: parsed.peers,
  };
}
