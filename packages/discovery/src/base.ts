// The skeleton every provider is built on: events, the last good snapshot, record validation that
// skips and reports, bounds, failure reporting that never empties the list, and a lifecycle whose
// close() leaves no timer, watch or socket behind. A provider supplies only `run(ctx)`.

import { type Instance, isPicketError, PicketError } from '@picket/core';
import { checkInstance, describeValue, Emitter, messageOf, parseWith, sleep } from '@picket/core/internal';
import { z } from 'zod';
import type { Backoff } from './backoff.ts';
import { fn, integer, nonEmptyString } from './fields.ts';
import type { Provider, ProviderEvents } from './provider.ts';
import { measure, sameList } from './records.ts';
import { redact, redactError, redactValue } from './redact.ts';

export interface ProviderLimits {
  /** Most instances in one snapshot; a larger answer is an error and the last snapshot stays. Default 10000. */
  maxRecords?: number;
  /** Largest single record, as JSON, bytes; a larger one is skipped and reported. Default 65536. */
  maxRecordBytes?: number;
}

/** Spread into a provider's options schema so that every provider takes the same bounds. */
export const limitsShape = {
  maxRecords: integer(1, 1_000_000).default(10_000),
  maxRecordBytes: integer(64, 16 * 1024 * 1024).default(65_536),
};

export interface ResolvedLimits {
  maxRecords: number;
  maxRecordBytes: number;
}

export const DEFAULT_LIMITS: ResolvedLimits = { maxRecords: 10_000, maxRecordBytes: 65_536 };

export interface ProviderContext {
  /** The provider's name (`spec.name`). */
  readonly name: string;
  /** Aborted by close(): pass it to every request, watch and sleep. */
  readonly signal: AbortSignal;
  /** `maxRecords` and `maxRecordBytes` in force (`check` and `publish` apply them). */
  readonly limits: ResolvedLimits;
  /**
   * Validates one record; reports and returns undefined when it is invalid or too large. `label`
   * (an etcd key, say) starts the reported reason.
   */
  check(record: unknown, label?: string): Instance | undefined;
  /** Validates `records` and publishes the valid ones. False (and an error reported) when over `maxRecords`. */
  publish(records: readonly unknown[]): boolean;
  /** Publishes validated instances; later duplicates of an id are skipped and reported. */
  publishInstances(instances: readonly Instance[]): boolean;
  /** Reports a failure (`discovery-error`) without touching the last good snapshot. */
  fail(error: unknown, what?: string): PicketError;
  /** Re-emits a failure as it is, for composition (merge, filter). */
  forwardError(payload: ProviderEvents['discovery-error']): void;
  /** Reports a skipped record. */
  reportInvalid(record: unknown, reason: string, provider?: string): void;
  /** Resolves true after `ms`, or false at once when the provider closes. Unref'd. */
  sleep(ms: number): Promise<boolean>;
  /** An unref'd timer cleared by close(); returns its cancel function. */
  setTimer(fn: () => void, ms: number): () => void;
  /** Runs at close(), after `run` has settled, last registered first. */
  onClose(fn: () => void | Promise<void>): void;
  /** The last good snapshot. */
  current(): readonly Instance[] | undefined;
}

export interface ProviderSpec {
  /** Without credentials: it appears in events and error messages. */
  name: string;
  /** `maxRecords` and `maxRecordBytes`. Default 10000 and 65536. */
  limits?: ResolvedLimits;
  /** Values masked in every error message (tokens, passwords). Read at each failure. */
  secrets?: () => readonly (string | undefined)[];
  /** Started once by start(). Should return when `ctx.signal` aborts; a rejection is reported. */
  run(ctx: ProviderContext): void | Promise<void>;
  /** Overrides lastError(), for providers whose error state lives elsewhere (merge). */
  lastError?: () => PicketError | undefined;
}

const functionField = fn<(...args: never[]) => unknown>();
const specSchema = z.strictObject({
  name: nonEmptyString,
  limits: z.strictObject(limitsShape).optional(),
  secrets: functionField.optional(),
  run: functionField,
  lastError: functionField.optional(),
});

/** Builds a Provider around `spec.run`. The constructor does no I/O; start() begins it. */
export function createProvider(spec: ProviderSpec): Provider {
  parseWith(specSchema, spec, 'Invalid provider spec');
  const { name } = spec;
  const limits = spec.limits ?? DEFAULT_LIMITS;
  const emitter = new Emitter<ProviderEvents>();
  const abort = new AbortController();
  const timers = new Set<NodeJS.Timeout>();
  const closers: (() => void | Promise<void>)[] = [];
  let snapshot: readonly Instance[] | undefined;
  let lastError: PicketError | undefined;
  let running: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  // Invalid records already reported by the previous publish(): polled sources (DNS, files)
  // return the same bad record every round, and reporting it once per appearance is enough.
  let reportedBefore = new Set<string>();
  // Instances made by the previous publish(), by record text: a polled source that returns the
  // same 10,000 records every round should not pay for validating them again.
  let madeBefore = new Map<string, Instance>();
  let madeNow: Map<string, Instance> | undefined;

  const secrets = () => spec.secrets?.() ?? [];

  const reportInvalid = (record: unknown, reason: string, provider = name) => {
    const hidden = secrets();
    emitter.emit('invalid-record', {
      record: redactValue(record, hidden),
      reason: redact(reason, hidden),
      provider,
    });
  };

  const checkWith = (
    record: unknown,
    seen: Set<string> | undefined,
    label?: string,
  ): Instance | undefined => {
    const { key, tooLarge } = measure(record, limits.maxRecordBytes);
    if (tooLarge === undefined && key !== undefined && madeNow !== undefined) {
      const known = madeBefore.get(key);
      if (known !== undefined) {
        madeNow.set(key, known);
        return known;
      }
    }
    const result =
      tooLarge === undefined ? checkInstance(record) : { ok: false as const, reason: `record ${tooLarge}` };
    if (result.ok) {
      if (key !== undefined) madeNow?.set(key, result.instance);
      return result.instance;
    }
    if (seen === undefined) {
      reportInvalid(record, label === undefined ? result.reason : `${label}: ${result.reason}`);
    } else {
      const reported = `${result.reason}\u0000${describeValue(record)}`;
      seen.add(reported);
      if (!reportedBefore.has(reported)) reportInvalid(record, result.reason);
    }
    return undefined;
  };

  const fail = (error: unknown, what?: string): PicketError => {
    const safe =
      isPicketError(error, 'PICKET_DISCOVERY_FAILED') && what === undefined
        ? error
        : new PicketError(
            'PICKET_DISCOVERY_FAILED',
            redact(`${name}: ${what ?? 'discovery failed'}: ${messageOf(error)}`, secrets()),
            { cause: redactError(error, secrets()), details: { provider: name } },
          );
    if (closing !== undefined) return safe;
    lastError = safe;
    emitter.emit('discovery-error', { error: safe, provider: name });
    return safe;
  };

  const tooMany = (count: number): false => {
    fail(
      new Error(
        `the registry returned ${count} records, more than \`maxRecords\` (${limits.maxRecords}); raise it if that many are expected`,
      ),
      'answer too large',
    );
    return false;
  };

  const publishInstances = (instances: readonly Instance[]): boolean => {
    if (closing !== undefined) return false;
    if (instances.length > limits.maxRecords) return tooMany(instances.length);
    const ids = new Set<string>();
    let list: Instance[] | undefined;
    for (let i = 0; i < instances.length; i++) {
      const instance = instances[i]!;
      if (ids.has(instance.id)) {
        list ??= instances.slice(0, i);
        reportInvalid(
          instance,
          `\`id\` ${JSON.stringify(instance.id)} is used by an earlier record; skipped`,
        );
        continue;
      }
      ids.add(instance.id);
      list?.push(instance);
    }
    const next = Object.freeze(list ?? instances.slice());
    const recovered = lastError !== undefined;
    lastError = undefined;
    if (snapshot !== undefined && !recovered && sameList(snapshot, next)) return true;
    snapshot = next;
    emitter.emit('snapshot', { instances: next });
    return true;
  };

  const ctx: ProviderContext = {
    name,
    signal: abort.signal,
    limits,
    check: (record, label) => checkWith(record, undefined, label),
    publish(records) {
      if (closing !== undefined) return false;
      if (records.length > limits.maxRecords) return tooMany(records.length);
      const seen = new Set<string>();
      const valid: Instance[] = [];
      madeNow = new Map();
      for (const record of records) {
        const instance = checkWith(record, seen);
        if (instance !== undefined) valid.push(instance);
      }
      reportedBefore = seen;
      madeBefore = madeNow;
      madeNow = undefined;
      // An answer in which every record is invalid is a broken answer, not an empty service (as
      // Envoy treats it): keep the last good list rather than fail every request.
      if (valid.length === 0 && records.length > 0 && snapshot !== undefined) {
        fail(
          new Error(`all ${records.length} records were invalid; keeping the last good list`),
          'invalid answer',
        );
        return false;
      }
      return publishInstances(valid);
    },
    publishInstances,
    fail,
    forwardError(payload) {
      if (closing !== undefined) return;
      lastError = payload.error;
      emitter.emit('discovery-error', payload);
    },
    reportInvalid,
    sleep: (ms) => sleepUnlessAborted(ms, abort.signal),
    setTimer(fn, ms) {
      if (abort.signal.aborted) return () => {};
      const timer = setTimeout(() => {
        timers.delete(timer);
        fn();
      }, ms);
      timer.unref();
      timers.add(timer);
      return () => {
        clearTimeout(timer);
        timers.delete(timer);
      };
    },
    onClose(fn) {
      closers.push(fn);
    },
    current: () => snapshot,
  };

  return {
    name,
    start() {
      if (running !== undefined || closing !== undefined) return;
      running = (async () => {
        try {
          await spec.run(ctx);
        } catch (error) {
          if (!abort.signal.aborted) fail(error);
        }
      })();
    },
    on: (event, fn) => emitter.on(event, fn),
    current: () => snapshot,
    lastError: () => (spec.lastError === undefined ? lastError : spec.lastError()),
    close() {
      closing ??= (async () => {
        abort.abort();
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        await running;
        for (const closer of closers.reverse()) {
          try {
            await closer();
          } catch {
            // Closing is best effort: a socket that fails to close cleanly is gone all the same.
          }
        }
        emitter.clear();
      })();
      return closing;
    },
  };
}

/**
 * Resolves true after `ms` (an unref'd wait), or false as soon as `signal` aborts: the form of
 * a wait that a loop ending on close() reads best (`if (!(await sleep(ms))) return`).
 */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<boolean> {
  return sleep(ms, { signal }).then(slept, (error: unknown) => {
    if (signal.aborted) return false;
    throw error;
  });
}

function slept(): boolean {
  return true;
}

/**
 * Runs `step` until the provider closes. `step` resolves with the delay before it runs again
 * (ms), or undefined to stop; when it throws, the failure is reported and the next try waits
 * for `backoff`, which a success resets.
 */
export async function retryLoop(
  ctx: ProviderContext,
  retry: Backoff,
  step: () => Promise<number | undefined>,
  what?: string,
): Promise<void> {
  while (!ctx.signal.aborted) {
    let delay: number;
    try {
      const next = await step();
      retry.reset();
      if (next === undefined) return;
      delay = next;
    } catch (error) {
      if (ctx.signal.aborted) return;
      ctx.fail(error, what);
      delay = retry.next();
    }
    if (!(await ctx.sleep(delay))) return;
  }
}
