// What the caller reports when a picked request completes.

/** Why a request failed before or without an HTTP status. */
export type ErrorKind = 'connect' | 'timeout' | 'reset' | 'other';

export interface Outcome {
  /** The request succeeded from the caller's point of view. */
  ok: boolean;
  /** Time to response headers (or to failure), in milliseconds. Omit when unknown. */
  latencyMs?: number;
  /** HTTP status, if a response arrived. */
  status?: number;
  /** Set when the request failed without a usable response. */
  error?: ErrorKind;
  /**
   * The request ended for the caller's reasons (its abort, its invalid request, its body stream
   * failing): nothing is learned about the instance. Only the in-flight count changes; latency,
   * failures and outlier detection ignore the outcome.
   */
  neutral?: boolean;
}

/** An outcome that says nothing about the instance (see `Outcome.neutral`). */
export const NEUTRAL: Outcome = Object.freeze({ ok: true, neutral: true });

/**
 * Whether an outcome counts against an instance's health: transport errors and 5xx do, 4xx do
 * not (the instance answered correctly; the request was wrong).
 */
export function isFailure(outcome: Outcome): boolean {
  if (outcome.neutral === true) return false;
  if (outcome.error !== undefined) return true;
  if (outcome.status !== undefined) return outcome.status >= 500;
  return !outcome.ok;
}

/** Options a caller passes to `pick`. */
export interface PickContext {
  /** Hash key for ring-hash and Maglev (a user id, a session id). Ignored by other strategies. */
  key?: string | number;
  /** Instance ids that must not be picked (the ones a retry already tried). */
  exclude?: ReadonlySet<string>;
}
