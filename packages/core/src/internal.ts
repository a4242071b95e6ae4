// @picket/core/internal: the plumbing Picket's own packages share (option parsing, the duration
// rule, record checks, TLS options, the event emitter, the backoff and the abortable sleep).
// Not public API: it changes without notice.

export { type Backoff, type BackoffOptions, backoffDelay, exponentialBackoff } from './backoff.ts';
export { balancerSchema, strategySchema } from './balancer-options.ts';
export {
  type DurationRange,
  durationError,
  durationRule,
  durationSchema,
  isDuration,
  POSITIVE_DURATION,
} from './duration.ts';
export { describeValue, messageOf } from './errors.ts';
export { Emitter } from './events.ts';
export {
  type Agrees,
  bytes,
  fn,
  fraction,
  integer,
  ms,
  nonEmptyString,
  nonNegativeNumber,
  percent,
  port,
  positiveMs,
} from './fields.ts';
export { hashString } from './hash.ts';
export {
  LOAD_BIN_HEADER,
  LOAD_FORMAT_HEADER,
  LOAD_HEADER,
  LOAD_JSON_HEADER,
  NOT_PROCESSED_HEADER,
} from './headers.ts';
export { checkInstance, type InstanceCheck, isInstance, toInstance, toInstances } from './instance.ts';
export { describeIssues, formatPath, offOr, parseWith } from './options.ts';
export { isFailure } from './outcome.ts';
export { type SleepOptions, sleep } from './sleep.ts';
export { STRATEGY_NAMES, strategyByName } from './strategies/index.ts';
export { type SubsetConfig, subsetSchema } from './subset-options.ts';
export { type TlsConfig, tlsConnectOptions, tlsSchema } from './tls.ts';
export { assertBalancer } from './types.ts';
