// @picket/core: the balancer, its strategies and layers, instance records and errors.

export type { Backoff } from './backoff.ts';
export { createBalancer } from './balancer.ts';
export { callerIdFromEnvironment } from './caller-id.ts';
export { ErrorCode, isPicketError, PicketError, type PicketErrorOptions } from './errors.ts';
export type { BalancerEvents, HealthState, InstanceState } from './events.ts';
export { hashKey } from './hash.ts';
export type { HealthSource, HealthSourceOptions } from './health-sources.ts';
export type { Instance, InstanceRecord } from './instance.ts';
export type { LoadReport } from './load-report.ts';
export { type ErrorKind, NEUTRAL, type Outcome, type PickContext } from './outcome.ts';
export { type RandomSource, seededRandom } from './random.ts';
export { type LeastRequestOptions, leastRequest } from './strategies/least-request.ts';
export { type MaglevOptions, maglev } from './strategies/maglev.ts';
export { type PeakEwmaOptions, peakEwma } from './strategies/peak-ewma.ts';
export { random } from './strategies/random.ts';
export { type RingHashOptions, ringHash } from './strategies/ring-hash.ts';
export { roundRobin } from './strategies/round-robin.ts';
export {
  type WeightedResponseTimeOptions,
  weightedResponseTime,
} from './strategies/weighted-response-time.ts';
export {
  type WeightedRoundRobinOptions,
  weightedRoundRobin,
} from './strategies/weighted-round-robin.ts';
export type {
  Endpoint,
  EndpointLoad,
  EndpointView,
  LatencyTracking,
  Picker,
  Strategy,
  StrategyContext,
} from './strategy.ts';
export { createSubset, type Subset, type SubsetEvents } from './subset.ts';
export type { PeerPlace, PeerSource, SubsetOptions } from './subset-options.ts';
export { deterministicOrder, rendezvousOrder } from './subset-order.ts';
export type { TlsOptions } from './tls.ts';
export type {
  Balancer,
  BalancerOptions,
  BalancerSnapshot,
  InstanceSnapshot,
  OutlierDetectionOptions,
  Pick,
  PickHandle,
  SlowStartOptions,
  StrategyName,
  SubsetRole,
  SubsetSnapshot,
  ZoneOptions,
} from './types.ts';
