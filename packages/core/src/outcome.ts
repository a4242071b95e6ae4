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
}

/**
 * Whether an outcome counts against an instance's health: transport errors and 5xx do, 4xx do
 * not (the instance answered correctly; the request was wrong).
 */
export function isFailure(outcome: Outcome): boolean {
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
