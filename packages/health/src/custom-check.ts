// A check written by the user: a database ping, a queue-depth probe, anything that answers "is
// this instance fit to serve?". Thrown errors count as failures, not as a broken checker.

import { type Instance, PicketError } from '@picket/core';
import { type Agrees, describeValue, messageOf, nonEmptyString, parseWith } from '@picket/core/internal';
import { z } from 'zod';
import type { CheckLayer, CheckResult, HealthCheck, LoadStatus } from './check.ts';
import { positiveMs } from './fields.ts';
import { abortWords, elapsed, formatMs, withDeadline } from './util.ts';

/** What a custom check function may return: pass/fail, or a fuller verdict. */
export type CustomVerdict =
  | boolean
  | undefined
  | { ok: boolean; reason?: string; weight?: number; status?: LoadStatus };

/** Returning nothing (or resolving with nothing) passes; throwing fails. */
export type CustomCheckFn = (
  instance: Instance,
  signal: AbortSignal,
  // biome-ignore lint/suspicious/noConfusingVoidType: `async () => { await db.ping(); }` must count as a passing check.
) => CustomVerdict | void | Promise<CustomVerdict | void>;

export interface CustomCheckOptions {
  /** The layer the check proves, shown in reasons and snapshots. Default `'custom'`. */
  layer?: CheckLayer;
  /** Named in reasons (`custom: db ping failed in 3 ms`). Default `'check'`. */
  name?: string;
  /** The check's own deadline, ms; the checker's `timeout` applies as well. Default: only the checker's. */
  timeout?: number;
}

const schema = z.strictObject({
  layer: z
    .enum(['l3', 'l4', 'l7', 'load', 'custom'], { error: "must be 'l3', 'l4', 'l7', 'load' or 'custom'" })
    .default('custom'),
  name: nonEmptyString.default('check'),
  timeout: positiveMs.optional(),
});

type Verdict = Exclude<CustomVerdict, boolean | undefined>;

function toResult(verdict: unknown, layer: CheckLayer, name: string, latencyMs: number): CheckResult {
  const took = formatMs(latencyMs);
  if (verdict === undefined || typeof verdict === 'boolean') {
    const ok = verdict !== false;
    return { ok, layer, reason: `${layer}: ${name} ${ok ? 'passed' : 'failed'} in ${took}`, latencyMs };
  }
  if (typeof verdict !== 'object' || verdict === null || typeof (verdict as Verdict).ok !== 'boolean') {
    return {
      ok: false,
      layer,
      reason: `${layer}: ${name} returned ${describeValue(verdict)}, not a verdict`,
      latencyMs,
    };
  }
  const v = verdict as Verdict;
  const result: CheckResult = {
    ok: v.ok,
    layer,
    reason: `${layer}: ${v.reason ?? `${name} ${v.ok ? 'passed' : 'failed'}`} in ${took}`,
    latencyMs,
  };
  if (v.weight !== undefined) result.weight = v.weight;
  if (v.status !== undefined) result.status = v.status;
  return result;
}

/** Wraps a function as a check. It gets the instance and an AbortSignal it should honour. */
export function customCheck(check: CustomCheckFn, options: CustomCheckOptions = {}): HealthCheck {
  if (typeof check !== 'function') {
    throw new PicketError(
      'PICKET_INVALID_OPTIONS',
      `customCheck expects a function (instance, signal) => verdict, got ${describeValue(check)}`,
    );
  }
  const o = parseWith(schema, options, 'Invalid customCheck options');
  const { layer, name } = o;

  return {
    layer,
    run(instance, signal): Promise<CheckResult> {
      const deadline = withDeadline(signal, o.timeout);
      const start = performance.now();
      return new Promise<CheckResult>((resolve) => {
        let done = false;
        const finish = (result: CheckResult): void => {
          if (done) return;
          done = true;
          deadline.signal.removeEventListener('abort', onAbort);
          deadline.dispose();
          resolve(result);
        };
        // A function that ignores the signal is cut off here all the same.
        const onAbort = (): void =>
          finish({
            ok: false,
            layer,
            reason: `${layer}: ${name} ${abortWords(deadline.signal)}`,
            latencyMs: elapsed(start),
          });
        if (deadline.signal.aborted) return onAbort();
        deadline.signal.addEventListener('abort', onAbort, { once: true });
        Promise.resolve()
          .then(() => check(instance, deadline.signal))
          .then(
            (verdict) => finish(toResult(verdict, layer, name, elapsed(start))),
            (error: unknown) =>
              finish({
                ok: false,
                layer,
                reason: `${layer}: ${name} threw: ${messageOf(error)}`,
                latencyMs: elapsed(start),
              }),
          );
      });
    },
  };
}

// The documented options are the schema's input, field for field.
true satisfies Agrees<CustomCheckOptions, z.input<typeof schema>>;
