// How a call is seen from outside as a whole: `picket:request` (a tracing channel: start and end
// around its synchronous start, asyncStart and asyncEnd when it ends) and the call's metric.

import { errorCode } from '../errors.ts';
import { type RequestMessage, requestChannel } from '../observe/channels.ts';
import type { ClientMetrics } from '../observe/metrics.ts';
import { redactPath } from '../redact.ts';

/** Runs `start` inside `picket:request`'s start and end; the message, to close the call with. */
export function traceStart<T>(
  service: string,
  method: string,
  path: string,
  start: (this: T) => void,
  self: T,
): RequestMessage {
  const trace: RequestMessage = { service, method, path: redactPath(path) };
  try {
    requestChannel.start.runStores(trace, start, self);
  } finally {
    requestChannel.end.publish(trace);
  }
  return trace;
}

/** Records how the call ended (`error` undefined: with a response of `status`). */
export function recordEnd(
  metrics: ClientMetrics | null,
  trace: RequestMessage | null,
  method: string,
  seconds: number,
  status: number,
  attempts: number,
  error: unknown,
): void {
  if (metrics !== null) {
    const code = error === undefined ? undefined : (errorCode(error) ?? 'other');
    metrics.call(method, seconds, status, code, attempts);
  }
  if (trace === null) return;
  if (error === undefined) trace.result = { statusCode: status, attempts };
  else {
    trace.error = error;
    requestChannel.error.publish(trace);
  }
  requestChannel.asyncStart.publish(trace);
  requestChannel.asyncEnd.publish(trace);
}
