// An unref'd sleep that an AbortSignal cuts short, shared by providers and registrars.

/**
 * Resolves true after `ms`, or false as soon as `signal` aborts (at once if it already has).
 * The timer is unref'd, and kept in `timers` while it runs when a set is given, so that an
 * owner's close() can clear whatever is still pending.
 */
export function abortableSleep(
  ms: number,
  signal: AbortSignal,
  timers?: Set<ReturnType<typeof setTimeout>>,
): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const done = (value: boolean) => {
      clearTimeout(timer);
      timers?.delete(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(value);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    timer.unref();
    timers?.add(timer);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
