// client.snapshot(): the balancer's view of each instance, with its breaker and pool beside it.

import type { InstanceSnapshot, Subset, SubsetRole, SubsetSnapshot } from '@picket/core';
import type { BreakerSnapshot } from './breaker/breakers.ts';
import type { HealthFactory, ProviderLike } from './contracts.ts';
import type { DispatchCore } from './dispatcher/core.ts';
import type { PoolStatsSnapshot } from './pool/pools.ts';

export interface ClientInstanceSnapshot extends InstanceSnapshot {
  /** Undefined when breakers are off or the instance has had no request yet. */
  breaker: BreakerSnapshot | undefined;
  /** Undefined before the instance's first request. */
  pool: PoolStatsSnapshot | undefined;
  /** With `subset`: `'member'` or `'grown'`; undefined for one draining after it left the subset. */
  subset?: SubsetRole;
}

export interface ClientSnapshot {
  /** The client's `service`. */
  service: string;
  /** The client is closed. */
  closed: boolean;
  /** The strategy's name. */
  strategy: string;
  /** Priority levels in panic. */
  panic: number[];
  /** Every instance (draining ones too) with its balancer state, breaker and pool. */
  instances: ClientInstanceSnapshot[];
  /** Where the instances come from, and how that is going. */
  discovery: {
    /** The provider's name (`static`, `dns:inventory.svc:8080`, …). */
    provider: string;
    /** A snapshot has arrived (always true for a static list). */
    ready: boolean;
    /** Message of the provider's last error (or of its failed `start()` before any snapshot), if any. */
    lastError: string | undefined;
  };
  /** Retries (and hedges) the budget allows right now. */
  retryBudget: number;
  /** Pools still draining after their instance left. */
  drainingPools: number;
  /**
   * The health checker's own snapshot, when it has one: with picket's `health: { check, … }`, an
   * `InstanceHealth[]` (from @picket/health); with a factory of your own, what its `snapshot()`
   * returns; undefined without active checks.
   */
  health: unknown;
  /** With `subset`: which of the service's instances are used and why. */
  subset?: SubsetSnapshot;
}

export function describeClient(
  core: DispatchCore & { readonly closed: boolean },
  provider: ProviderLike | undefined,
  lastError: Error | undefined,
  health: ReturnType<HealthFactory> | undefined,
  ready: boolean,
  subset?: Subset,
): ClientSnapshot {
  const balancer = core.balancer.snapshot();
  const now = core.now();
  return {
    service: core.service,
    closed: core.closed,
    strategy: balancer.strategy,
    panic: balancer.panic,
    instances: balancer.instances.map((i) => ({
      ...i,
      breaker: core.breakers?.snapshot(i.id, now),
      pool: core.pools.stats(i.id),
      ...(subset === undefined ? {} : { subset: subset.role(i.id) }),
    })),
    discovery: {
      provider: provider === undefined ? 'static' : (provider.name ?? 'provider'),
      ready,
      lastError: lastError?.message,
    },
    retryBudget: core.budget.available(),
    drainingPools: core.pools.draining,
    health: health?.snapshot?.(),
    ...(subset === undefined ? {} : { subset: subset.snapshot() }),
  };
}
