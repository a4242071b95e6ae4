// Health sources: the parties that judge an instance besides passive health (active checks, a
// breaker, in-band load reports, discovery). Each registers its name once with the balancer and
// reports through the handle it gets, so the name is written in one place and what its verdicts
// may do (end an outlier ejection, hold new instances back) is declared with it, not read from it.

import { z } from 'zod';
import { describeValue, PicketError } from './errors.ts';
import type { HealthState } from './events.ts';
import { parseWith } from './options.ts';

export interface HealthSourceOptions {
  /**
   * A `healthy` verdict ends an outlier ejection at once: this source's evidence outranks the
   * passive kind, as an active check that passes does in Envoy. Default false.
   */
  endsEjection?: boolean;
  /**
   * Every instance, present or joining later, is `unknown` for this source (`'not checked yet'`)
   * until its first verdict, and so used only when no known-healthy instance is available: as a
   * name listed in the balancer's `healthSources`. Default false.
   */
  startsUnknown?: boolean;
}

/** What a registered source reports through; `balancer.healthSource(name)` returns it. */
export interface HealthSource {
  /** The name snapshots (`health`) and `instance-state` reasons show. */
  readonly name: string;
  /** Reports this source's verdict on instance `id`. Ids the balancer does not hold are ignored. */
  set(id: string, state: HealthState, reason?: string): void;
  /**
   * Withdraws the source: its verdicts on every instance are cleared, instances no longer wait
   * for it, later `set` calls are ignored, and the name can be registered again. Idempotent.
   */
  close(): void;
  /** `close()` has been called: `set` is ignored. */
  readonly closed: boolean;
}

/** One name's slot: its bit in the endpoints' masks and what its verdicts may do. */
export interface SourceSlot {
  readonly name: string;
  readonly bit: number;
  endsEjection: boolean;
  startsUnknown: boolean;
  /** The open handle that owns the name, if one was registered. */
  owner: HealthSource | undefined;
}

/** What handles report to: the balancer, which applies verdicts to its endpoints. */
export interface HealthSink {
  apply(slot: SourceSlot, id: string, state: HealthState, reason: string): void;
  /** Clears the slot's verdicts from every endpoint (its bit is already out of the mask). */
  withdraw(slot: SourceSlot): void;
  /** Marks every current endpoint unknown for a source that now holds instances back. */
  hold(slot: SourceSlot): void;
}

/**
 * The name `setHealth` reports under when given none. For that deprecated path only, a passing
 * verdict under it still ends an ejection, as it did before sources were registered.
 */
export const LEGACY_DEFAULT_SOURCE = 'active';

// Endpoint masks are 31-bit integers.
const MAX_SOURCES = 30;

const optionsSchema = z.strictObject({
  endsEjection: z.boolean({ error: 'must be a boolean' }).default(false),
  startsUnknown: z.boolean({ error: 'must be a boolean' }).default(false),
});

class Handle implements HealthSource {
  readonly name: string;
  readonly #slot: SourceSlot;
  readonly #registry: HealthSources;
  #closed = false;

  constructor(slot: SourceSlot, registry: HealthSources) {
    this.name = slot.name;
    this.#slot = slot;
    this.#registry = registry;
  }

  get closed(): boolean {
    return this.#closed;
  }

  set(id: string, state: HealthState, reason = ''): void {
    if (state !== 'healthy' && state !== 'unhealthy' && state !== 'unknown') {
      throw new PicketError(
        'PICKET_INVALID_OPTIONS',
        `Expected a health state ('healthy', 'unhealthy' or 'unknown') from source "${this.name}", got ${describeValue(state)}`,
      );
    }
    if (!this.#closed) this.#registry.sink.apply(this.#slot, id, state, reason);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#registry.release(this.#slot);
  }
}

/** A balancer's sources by name, their bits, and the mask new endpoints start unknown with. */
export class HealthSources {
  readonly sink: HealthSink;
  readonly #slots = new Map<string, SourceSlot>();
  /** Bits of the sources a new endpoint starts unknown for. */
  unknownMask = 0;

  /** `declared`: the balancer's `healthSources`, held back for until an owner withdraws them. */
  constructor(declared: readonly string[], sink: HealthSink) {
    this.sink = sink;
    for (const name of declared) this.#hold(this.slot(name));
  }

  /** The slot of `name`, made on first use. */
  slot(name: string): SourceSlot {
    let slot = this.#slots.get(name);
    if (slot === undefined) {
      if (this.#slots.size >= MAX_SOURCES) {
        throw new PicketError(
          'PICKET_INVALID_OPTIONS',
          `Too many health sources (${MAX_SOURCES}); cannot add ${JSON.stringify(name)}`,
        );
      }
      slot = {
        name,
        bit: 1 << this.#slots.size,
        endsEjection: name === LEGACY_DEFAULT_SOURCE,
        startsUnknown: false,
        owner: undefined,
      };
      this.#slots.set(name, slot);
    }
    return slot;
  }

  values(): IterableIterator<SourceSlot> {
    return this.#slots.values();
  }

  register(name: unknown, options: unknown): HealthSource {
    if (typeof name !== 'string' || name === '') {
      throw new PicketError(
        'PICKET_INVALID_OPTIONS',
        `Expected a health source name (a non-empty string), got ${describeValue(name)}`,
      );
    }
    const parsed = parseWith(optionsSchema, options ?? {}, `Invalid options for health source "${name}"`);
    const slot = this.slot(name);
    if (slot.owner !== undefined) {
      throw new PicketError(
        'PICKET_INVALID_OPTIONS',
        `Health source "${name}" is already registered on this balancer: each source has one owner, which reports through its handle (close that handle first, or choose another name)`,
        { details: { source: name } },
      );
    }
    const handle = new Handle(slot, this);
    slot.owner = handle;
    slot.endsEjection = parsed.endsEjection;
    if (parsed.startsUnknown) {
      this.#hold(slot);
      this.sink.hold(slot);
    }
    return handle;
  }

  release(slot: SourceSlot): void {
    slot.owner = undefined;
    slot.endsEjection = slot.name === LEGACY_DEFAULT_SOURCE;
    slot.startsUnknown = false;
    this.unknownMask &= ~slot.bit;
    this.sink.withdraw(slot);
  }

  #hold(slot: SourceSlot): void {
    slot.startsUnknown = true;
    this.unknownMask |= slot.bit;
  }
}
