// Classifies transport errors into the balancer's error kinds, and builds the client's typed
// errors. Messages never carry headers, bodies, query strings or userinfo.

import { type ErrorKind, PicketError } from '@picket/core';
import { describeValue, messageOf } from '@picket/core/internal';
import type { AttemptRecord } from './contracts.ts';
import { redactPath } from './redact.ts';

// Failures that happen before a byte of the request is written: safe to retry for any method.
const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_NONAME',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  // TLS handshake failures: the request was never sent either.
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

const TIMEOUT_CODES = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
  'PICKET_TIMEOUT',
]);

const RESET_CODES = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_CLOSED']);

// undici refuses these itself: the call is wrong (a header value with CR/LF, a plain object as
// body, a body shorter or longer than its content-length), whichever instance it goes to.
const INVALID_REQUEST_CODES = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'ERR_INVALID_ARG_TYPE',
  'ERR_INVALID_ARG_VALUE',
  'ERR_INVALID_CHAR',
  'ERR_INVALID_HTTP_TOKEN',
]);

/** A value for a message, as core's describeValue, but an object only as such: its fields may carry anything. */
export function describeOpaque(value: unknown): string {
  return value !== null && typeof value === 'object' ? 'an object' : describeValue(value);
}

/** PICKET_INVALID_OPTIONS naming the keys of `options` not in `known` (`what`: "Invalid agent options"), or undefined. */
export function unknownOptionsError(
  what: string,
  options: object,
  known: ReadonlySet<string>,
): PicketError | undefined {
  const unknown = Object.keys(options).filter((k) => !known.has(k));
  if (unknown.length === 0) return undefined;
  const names = unknown.map((k) => `\`${k}\``).join(', ');
  return new PicketError(
    'PICKET_INVALID_OPTIONS',
    `${what}: unknown option${unknown.length > 1 ? 's' : ''} ${names}`,
    {
      details: { unknown },
    },
  );
}

/** The caller's own fault, not the instance's: an invalid request, or its body stream failing. */
export type CallerFault = 'invalid' | 'body';

/**
 * Whether `error`, which ended an attempt, is the caller's own doing; `bodyFailed` is known, and
 * `started` says whether the attempt reached a connection. An error with no code before that is
 * one undici's request builder threw on the caller's values (a header value whose conversion to
 * text throws: a Symbol, a toString that throws): connect, socket and pool failures carry codes.
 */
export function callerFault(error: unknown, bodyFailed: boolean, started: boolean): CallerFault | undefined {
  if (bodyFailed) return 'body';
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return INVALID_REQUEST_CODES.has(code) ? 'invalid' : undefined;
  return !started && errorCode(error) === undefined ? 'invalid' : undefined;
}

/** A request undici refused to send as it was given: the caller's to fix, never retried. */
export function invalidRequestError(
  service: string,
  method: string,
  path: string,
  cause: unknown,
): PicketError {
  return new PicketError(
    'PICKET_INVALID_REQUEST',
    `${method} ${redactPath(path)} to service "${service}" is invalid and was not sent: ${messageOf(cause)}`,
    { cause },
  );
}

/** The `code` of an error or of the first error in its `cause` chain that has one. */
export function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Maps an undici or socket error to the balancer's error kind. */
export function errorKind(code: string | undefined): ErrorKind {
  if (code === undefined) return 'other';
  if (CONNECT_CODES.has(code)) return 'connect';
  if (TIMEOUT_CODES.has(code)) return 'timeout';
  if (RESET_CODES.has(code)) return 'reset';
  return 'other';
}

export function clientClosedError(service: string): PicketError {
  return new PicketError(
    'PICKET_CLIENT_CLOSED',
    `The client for service "${service}" is closed; create a new client to send more requests`,
  );
}

export function timeoutError(
  service: string,
  method: string,
  path: string,
  timeoutMs: number,
  attempts: AttemptRecord[],
  cause?: unknown,
) {
  const waited = cause === undefined ? '' : ': discovery delivered no instances in that time (see `cause`)';
  return new PicketError(
    'PICKET_TIMEOUT',
    `${method} ${redactPath(path)} to service "${service}" got no response within ${timeoutMs} ms (\`timeout\`)${waited}`,
    { cause, details: { timeoutMs, attempts } },
  );
}

/** One attempt got no response headers within `perTryTimeout`; the cause of a final error. */
export function perTryTimeoutError(
  service: string,
  method: string,
  path: string,
  perTryTimeoutMs: number,
  instanceUrl: string,
): PicketError {
  return new PicketError(
    'PICKET_TIMEOUT',
    `${method} ${redactPath(path)} to service "${service}" got no response headers from ${instanceUrl} within ${perTryTimeoutMs} ms (\`perTryTimeout\`)`,
    { details: { perTryTimeoutMs, instance: instanceUrl } },
  );
}

function describeAttempt(a: AttemptRecord): string {
  const what = a.status !== undefined ? `status ${a.status}` : (a.code ?? a.error ?? 'failed');
  return `${a.url} ${what}${a.hedge === true ? ' (hedge)' : ''}`;
}

/**
 * Every attempt failed. `reason` says why no further attempt was made (out of retries, not
 * safe to replay, budget exhausted, …).
 */
export function attemptsExhaustedError(
  service: string,
  method: string,
  path: string,
  attempts: AttemptRecord[],
  reason: string,
  cause: unknown,
): PicketError {
  const n = attempts.length;
  const list = attempts.map(describeAttempt).join('; ');
  return new PicketError(
    'PICKET_ATTEMPTS_EXHAUSTED',
    `${method} ${redactPath(path)} to service "${service}" failed after ${n} attempt${n === 1 ? '' : 's'} (${list}); ${reason}`,
    { cause, details: { attempts, reason } },
  );
}

export function noAvailableError(service: string, attempts: AttemptRecord[], cause: unknown): PicketError {
  return new PicketError(
    'PICKET_NO_AVAILABLE_INSTANCE',
    `No instance of service "${service}" could take the request: every candidate is unavailable or its circuit breaker is open`,
    { cause, details: { attempts } },
  );
}

/** Discovery has never delivered a snapshot: fail at once rather than wait. */
/**
 * A callback threw while a response was being handled: the caller's own handler (its
 * `onResponseStart`, `onResponseData`, …) or Picket's code on undici's behalf. The request fails
 * with this error instead of the exception reaching undici, and the instance is not charged.
 */
export function handlerFailedError(
  service: string,
  method: string,
  path: string,
  callback: string,
  cause: unknown,
): PicketError {
  const message = messageOf(cause);
  return new PicketError(
    'PICKET_HANDLER_FAILED',
    `${method} ${redactPath(path)} to service "${service}" failed: ${callback} threw: ${message}`,
    { cause, details: { callback } },
  );
}

/** A call refused at once because a limit (`limits.*`) is reached: never queued without bound. */
export function overloadedError(service: string, limit: string, value: number, cause?: unknown): PicketError {
  return new PicketError(
    'PICKET_OVERLOADED',
    `Service "${service}" is overloaded: \`limits.${limit}\` (${value}) is reached; the call was not sent`,
    { cause, details: { limit, value } },
  );
}

/** An attempt answered 408: the server says it did not receive the request whole. */
export function unprocessedError(instanceUrl: string): PicketError {
  return new PicketError(
    'PICKET_ABORTED',
    `${instanceUrl} answered 408 Request Timeout: the request was not processed, and is sent again`,
    { details: { status: 408 } },
  );
}

export function notDiscoveredError(service: string, cause: unknown): PicketError {
  return new PicketError(
    'PICKET_NO_INSTANCES',
    `Service "${service}" has no instances yet: discovery has not delivered a snapshot${
      cause === undefined ? '' : ' (see `cause`)'
    }; wait for \`client.ready()\``,
    { cause },
  );
}
