// Retry rules: which methods and bodies may be sent twice, which statuses are worth another
// instance, how long `Retry-After` asks us to wait, and whether a failed attempt may be followed
// by another.

import type { RetryConfig } from '../config.ts';
import type { RetryBudget } from './budget.ts';

/** Bodies undici can send again as they are; streams and async iterables are consumed once. */
export function isReplayableBody(body: unknown): boolean {
  return (
    body === null ||
    body === undefined ||
    typeof body === 'string' ||
    body instanceof Uint8Array ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body)
  );
}

/** Whether a request may be sent again after it may have reached the server. */
export function isIdempotent(config: RetryConfig, method: string, flag: boolean | undefined): boolean {
  return flag ?? config.methods.has(method);
}

/** `Retry-After` in ms (delta-seconds or HTTP-date), or -1 when absent or unreadable. */
export function retryAfterMs(value: string | string[] | undefined, nowMs: number = Date.now()): number {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text === '') return -1;
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? -1 : Math.max(0, at - nowMs);
}

/**
 * For a response status: -1 when it is final, else the least delay before a retry (0, or the
 * `Retry-After` the server asked for). A `Retry-After` beyond `maxRetryAfterMs` makes the
 * response final: the caller gets it rather than a retry the server asked us not to send yet.
 */
export function statusRetryDelay(
  config: RetryConfig,
  status: number,
  headers: Record<string, string | string[] | undefined>,
): number {
  const rateLimited = status === 429 && config.rateLimited;
  if (!rateLimited && !config.statuses.has(status)) return -1;
  const after = retryAfterMs(headers['retry-after']);
  if (after < 0) return rateLimited ? -1 : 0;
  return after > config.maxRetryAfterMs ? -1 : after;
}

export interface RetryFacts {
  method: string;
  aborted: boolean;
  /** Retries left, on other instances and on the same one. */
  retriesLeft: number;
  /** The failed attempt got as far as writing the request (onRequestStart). */
  mayHaveReachedServer: boolean;
  idempotent: boolean;
  /** Idempotent, with a body that can be sent again. */
  replayable: boolean;
  timedOut: boolean;
  budget: RetryBudget;
}

/** Why no retry follows, when the retry budget has none left. */
export const BUDGET_EXHAUSTED = 'the retry budget is exhausted (`retry.budget`)';

/**
 * Null when another attempt may follow a failed one (a retry is then taken from the budget),
 * else the reason there is none, for the final error. A failure before the request was written
 * (refused, connect timeout, DNS) is safe to retry for any method.
 */
export function whyNotRetry(config: RetryConfig, f: RetryFacts): string | null {
  if (!config.enabled) return 'retries are off';
  if (f.aborted) return 'the request was aborted';
  if (f.retriesLeft <= 0) return `no retries left (\`retry.retries\` is ${config.retries})`;
  if (f.mayHaveReachedServer && !f.replayable) {
    return f.idempotent
      ? 'the request may have reached the server and its body is a stream, which is never replayed'
      : `${f.method} is not idempotent and the request may have reached the server; pass \`idempotent: true\` to allow replaying it`;
  }
  if (f.timedOut) return 'the request timed out';
  if (!f.budget.withdraw()) return BUDGET_EXHAUSTED;
  return null;
}
