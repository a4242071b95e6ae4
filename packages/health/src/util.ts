// Plumbing the checks share: a deadline on top of the caller's AbortSignal, and the wording of
// reasons (latencies, network errors, why a signal fired). Internal; not exported.

import { isPicketError, PicketError } from '@picket/core';
import { messageOf } from '@picket/core/internal';

/** The abort reason for a deadline; checks read `details.timeoutMs` to say how long they waited. */
export function timeoutError(timeoutMs: number): PicketError {
  return new PicketError('PICKET_TIMEOUT', `Health check timed out after ${timeoutMs} ms`, {
    details: { timeoutMs },
  });
}

export interface Deadline {
  readonly signal: AbortSignal;
  dispose(): void;
}

const noop = (): void => {};

/** The caller's signal, tightened by the check's own `timeout` when it has one. */
export function withDeadline(signal: AbortSignal, timeoutMs: number | undefined): Deadline {
  if (timeoutMs === undefined) return { signal, dispose: noop };
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal.reason);
  if (signal.aborted) controller.abort(signal.reason);
  else signal.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => controller.abort(timeoutError(timeoutMs)), timeoutMs);
  timer.unref();
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    },
  };
}

/** The deadline, ms, when `signal` fired because of one; undefined for any other abort. */
export function timeoutOf(signal: AbortSignal): number | undefined {
  const reason: unknown = signal.reason;
  if (isPicketError(reason, 'PICKET_TIMEOUT') && typeof reason.details.timeoutMs === 'number') {
    return reason.details.timeoutMs;
  }
  return undefined;
}

/** Why a signal fired, for a reason string: `timed out after 2000 ms`, `timed out` or `aborted`. */
export function abortWords(signal: AbortSignal): string {
  const ms = timeoutOf(signal);
  if (ms !== undefined) return `timed out after ${ms} ms`;
  // AbortSignal.timeout() fires with a DOMException named TimeoutError, without its duration.
  return (signal.reason as { name?: unknown } | undefined)?.name === 'TimeoutError' ? 'timed out' : 'aborted';
}

/** Milliseconds elapsed since `start` (a performance.now() reading), to 0.01 ms. */
export function elapsed(start: number): number {
  return Math.round((performance.now() - start) * 100) / 100;
}

/** A latency as people read it: `12 ms`, `0.4 ms`. */
export function formatMs(ms: number): string {
  return ms >= 10 ? `${Math.round(ms)} ms` : `${Math.round(ms * 10) / 10} ms`;
}

const NETWORK_WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  UND_ERR_SOCKET: 'connection closed before a response',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EHOSTDOWN: 'host down',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_HEADERS_TIMEOUT: 'response headers timed out',
  UND_ERR_BODY_TIMEOUT: 'response body timed out',
  UND_ERR_RES_EXCEEDED_MAX_SIZE: 'response too large',
  UND_ERR_CLOSED: 'client closed',
  UND_ERR_DESTROYED: 'client closed',
};

/**
 * An error's own message with its code, for codes without words of ours (TLS: `self-signed
 * certificate in certificate chain (SELF_SIGNED_CERT_IN_CHAIN)`).
 */
function withCode(error: object, code: string): string {
  const message = (error as { message?: unknown }).message;
  return typeof message === 'string' && message !== '' && message !== code ? `${message} (${code})` : code;
}

/** A network error in a few words: `connection refused`, falling back to its code or message. */
export function networkWords(error: unknown): string {
  let current: unknown = error;
  // undici wraps the socket's error; the innermost code is the one people recognise.
  for (let depth = 0; depth < 4 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET' && NETWORK_WORDS[code] !== undefined) {
      return NETWORK_WORDS[code];
    }
    const cause = (current as { cause?: unknown }).cause;
    if (cause === undefined) {
      if (typeof code === 'string') return NETWORK_WORDS[code] ?? withCode(current, code);
      break;
    }
    current = cause;
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return NETWORK_WORDS[code] ?? code;
  return messageOf(error);
}

/** `host:port`, with brackets around IPv6 literals. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
