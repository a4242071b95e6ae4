// The one abortable wait Picket uses between tries (an HTTP retry's backoff, a provider's poll).
// Unlike node:timers/promises, it rejects with the signal's own reason rather than wrapping it in
// an AbortError, so an owner that aborts with a typed error gets that error back.

import { durationError, isDuration } from './duration.ts';
import { describeValue, PicketError } from './errors.ts';

export interface SleepOptions {
  /** Ends the wait early: the promise rejects with `signal.reason` and the timer is cleared. */
  signal?: AbortSignal;
  /** Whether the timer keeps the process alive. Default false (unref'd). */
  ref?: boolean;
}

/**
 * Resolves after `ms` milliseconds (from 0 to 2³¹−1), or rejects with `signal.reason` as soon as
 * `signal` aborts (at once if it already has). An invalid `ms` or `signal` rejects with
 * PICKET_INVALID_OPTIONS naming it.
 */
export function sleep(ms: number, options: SleepOptions = {}): Promise<void> {
  const { signal, ref = false } = options;
  if (!isDuration(ms)) return Promise.reject(durationError('sleep', 'ms', ms));
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    return Promise.reject(
      new PicketError(
        'PICKET_INVALID_OPTIONS',
        `sleep: \`signal\` must be an AbortSignal, got ${describeValue(signal)}`,
        { details: { option: 'signal' } },
      ),
    );
  }
  if (signal?.aborted === true) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (!ref) timer.unref();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
