// The umbrella's createClient: @picket/http's client with active health checks from
// @picket/health wired in. `health: { check, interval, … }` is validated here, at construction,
// and the checker registers its health source so that each instance waits for its first verdict.

import { PicketError } from '@picket/core';
import { describeValue } from '@picket/core/internal';
import { createHealthChecker, type HealthOptions, parseHealthOptions } from '@picket/health';
import {
  type Client,
  createClient as createHttpClient,
  type ClientOptions as HttpClientOptions,
} from '@picket/http';

export interface ClientOptions extends Omit<HttpClientOptions, 'health'> {
  /**
   * Active health checks: `{ check: httpCheck({ path: '/health' }), interval: 5000, … }`, or a
   * factory `(balancer) => checker`. Off by default (passive outlier detection is always on).
   */
  health?: HealthOptions | HttpClientOptions['health'] | false;
}

/** Creates a load-balanced client for one service. Validates every option; starts discovery and checks. */
export function createClient(options: ClientOptions): Client {
  if (options === null || typeof options !== 'object') {
    throw new PicketError(
      'PICKET_INVALID_OPTIONS',
      `Invalid client options: expected an object, got ${describeValue(options)}`,
    );
  }
  const { health, ...rest } = options;
  if (health === undefined || health === false) return createHttpClient(rest);
  if (typeof health === 'function') {
    return createHttpClient({ ...rest, health });
  }
  if (health === null || typeof health !== 'object' || Array.isArray(health)) {
    throw new PicketError(
      'PICKET_INVALID_OPTIONS',
      `Invalid client options: \`health\` must be health options ({ check, interval, … }), a health factory or false, got ${describeValue(health)}`,
    );
  }
  // Parsed once, here; named from the client's side: `health.interval`, not `interval`.
  const parsed = parseHealthOptions(health, 'Invalid client options', ['health']);
  return createHttpClient({
    ...rest,
    health: (balancer) => createHealthChecker(balancer, parsed),
  });
}
