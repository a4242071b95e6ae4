// @picket/http: a load-balanced undici dispatcher for one service, with fetch and request fronts,
// retries, hedging, timeouts and circuit breakers; createAgent routes several services by host.

export { type AgentOptions, createAgent, type PicketAgent } from './agent.ts';
export { type Client, createClient } from './client.ts';
export type {
  AttemptRecord,
  BreakerState,
  ClientEvents,
  HealthFactory,
  ProviderLike,
} from './contracts.ts';
export type { PicketDispatchOptions } from './dispatcher/core.ts';
export type { ClientFetchInit } from './fronts/fetch.ts';
export type { ClientRequestOptions } from './fronts/request.ts';
export type { LoadReportLimits } from './load/in-band.ts';
export {
  ATTEMPT_END_CHANNEL,
  ATTEMPT_START_CHANNEL,
  type AttemptMessage,
  type RequestMessage,
} from './observe/channels.ts';
export type { MeterProvider, MetricsOptions } from './observe/metrics.ts';
export type {
  BreakerOptions,
  ClientOptions,
  HedgeOptions,
  LimitsOptions,
  PerRequestOptions,
  PoolOptions,
  RetryOptions,
  TlsOptions,
} from './options.ts';
export { redactHeaders, redactUrl } from './redact.ts';
export type { ClientInstanceSnapshot, ClientSnapshot } from './snapshot.ts';
