// @picket/health: active health checks (L3 ICMP, L4 TCP, L7 HTTP, server-reported load), the
// scheduler that feeds their verdicts to a balancer, and the server-side load reporter.

export { allChecks } from './all-checks.ts';
export type { CheckLayer, CheckResult, HealthCheck, LoadStatus } from './check.ts';
export type { HealthChecker, HealthCheckerEvents, InstanceHealth, LayerCheck } from './checker.ts';
export {
  type CustomCheckFn,
  type CustomCheckOptions,
  type CustomVerdict,
  customCheck,
} from './custom-check.ts';
export { type ExpectBody, type ExpectStatus, type HttpCheckOptions, httpCheck } from './http-check.ts';
export { type IcmpCheckOptions, icmpCheck } from './icmp-check.ts';
export { type LoadCheckOptions, type LoadThresholds, loadCheck, weightFromReport } from './load-check.ts';
export { type LoadReport, loadReportSchema, parseLoadReport } from './load-report.ts';
export {
  type HealthOptions,
  healthOptionsSchema,
  parseHealthOptions,
  type ResolvedHealthOptions,
} from './options.ts';
export {
  type KoaLikeContext,
  type LoadReporter,
  type LoadReporterOptions,
  loadReporter,
} from './reporter.ts';
export { createHealthChecker } from './scheduler.ts';
export { type TcpCheckOptions, tcpCheck } from './tcp-check.ts';
