// A coarse monotonic clock for the hot path. Reading the system clock costs ~70-90 ns here, which
// is most of a pick's budget; balancer time only drives decays (10 s) and schedules (seconds), so
// a reading that is at most ~1 ms old serves. One unref'd timer, re-armed with `refresh()` (no
// allocation), marks the reading stale; when nobody reads the clock, the timer is not re-armed.

let cached = 0;
let fresh = false;
let timer: ReturnType<typeof setTimeout> | undefined;

function expire(): void {
  fresh = false;
}

/** Milliseconds on the `performance.now()` scale, at most about 1 ms (plus event-loop lag) old. */
export function coarseNow(): number {
  if (fresh) return cached;
  cached = performance.now();
  fresh = true;
  if (timer === undefined) {
    timer = setTimeout(expire, 1);
    timer.unref();
  } else {
    timer.refresh();
  }
  return cached;
}
