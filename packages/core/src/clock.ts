// A coarse monotonic clock for the hot path. Reading the system clock costs ~70-90 ns here, which
// is most of a pick's budget; balancer time only drives decays (10 s) and schedules (seconds), so
// a reading that is at most a few milliseconds old serves. One unref'd timer, re-armed with
// `refresh()` (no allocation), marks the reading stale every RESOLUTION_MS; when nobody reads
// the clock, it is not re-armed. Under load it wakes 250 times a second, not once per request
// (latencies are measured by the caller with the precise clock, not with this one).

const RESOLUTION_MS = 4;

let cached = 0;
let fresh = false;
let timer: ReturnType<typeof setTimeout> | undefined;

function expire(): void {
  fresh = false;
}

/** Milliseconds on the `performance.now()` scale, at most about RESOLUTION_MS (plus event-loop lag) old. */
export function coarseNow(): number {
  if (fresh) return cached;
  cached = performance.now();
  fresh = true;
  if (timer === undefined) {
    timer = setTimeout(expire, RESOLUTION_MS);
    timer.unref();
  } else {
    timer.refresh();
  }
  return cached;
}
