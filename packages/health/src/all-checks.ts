// Layers in order, cheapest first (for example L4 then L7): the first failing layer decides, so
// the reason says which layer failed and why (`l7: status 503 from /health in 12 ms`).

import { PicketError } from '@picket/core';
import { describeValue } from '@picket/core/internal';
import { type CheckResult, type HealthCheck, isHealthCheck } from './check.ts';

/** Runs `checks` in order and stops at the first that fails. */
export function allChecks(checks: readonly HealthCheck[]): HealthCheck {
  if (!Array.isArray(checks) || checks.length === 0) {
    throw new PicketError(
      'PICKET_INVALID_OPTIONS',
      `allChecks expects a non-empty array of checks, got ${describeValue(checks)}`,
    );
  }
  // By index, not forEach: a hole in a sparse array is a missing check, not one to skip.
  for (let i = 0; i < checks.length; i++) {
    if (!isHealthCheck(checks[i])) {
      throw new PicketError(
        'PICKET_INVALID_OPTIONS',
        `allChecks: \`[${i}]\` must be a health check such as tcpCheck() or httpCheck(), got ${describeValue(checks[i])}`,
      );
    }
  }
  const list = [...checks];
  const last = list[list.length - 1] as HealthCheck;

  return {
    layer: last.layer,
    async run(instance, signal): Promise<CheckResult> {
      const results: CheckResult[] = [];
      let latencyMs = 0;
      let weight: number | undefined;
      let status: CheckResult['status'];
      let load: CheckResult['load'];
      for (const check of list) {
        const result = await check.run(instance, signal);
        results.push(...(result.results ?? [result]));
        latencyMs += result.latencyMs;
        weight = result.weight ?? weight;
        status = result.status ?? status;
        load = result.load ?? load;
        if (!result.ok) {
          return withExtras(
            { ok: false, layer: result.layer, reason: result.reason, latencyMs, results },
            weight,
            status,
            load,
          );
        }
      }
      const reason = results.map((r) => r.reason).join('; ');
      return withExtras({ ok: true, layer: last.layer, reason, latencyMs, results }, weight, status, load);
    },
    async close(): Promise<void> {
      await Promise.all(list.map((check) => check.close?.()));
    },
  };
}

function withExtras(
  result: CheckResult,
  weight: number | undefined,
  status: CheckResult['status'],
  load: CheckResult['load'],
): CheckResult {
  if (weight !== undefined) result.weight = weight;
  if (status !== undefined) result.status = status;
  if (load !== undefined) result.load = load;
  return result;
}
