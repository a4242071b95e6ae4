// In-process answerers in place of every instance's pool, for benchmarks of Picket's own CPU per
// request (bench/dispatch-overhead.ts, bench/observe-cost.ts): sockets would bury a few hundred
// nanoseconds in machine noise. Each answers on the next event-loop turn, as a socket read
// would, with a small 200. Installing them patches PoolManager.prototype.slot: a benchmark's
// licence, in a process of its own.

import { Dispatcher } from 'undici';
import { InstancePool, PoolManager } from '../../packages/http/src/pool/pools.ts';

const BODY = Buffer.from('{"ok":true}');
// An in-band load report on every response, as a loadReporter would send: read only by clients
// that ask for reports, so it costs the others nothing.
const HEADERS = {
  'content-type': 'application/json',
  'content-length': String(BODY.length),
  'endpoint-load-metrics':
    'TEXT cpu_utilization=0.31, mem_utilization=0.42, application_utilization=0.4, rps_fractional=120, eps=0, named_metrics.event_loop_delay_ms=1.5, named_metrics.in_flight=2',
};
const noop = () => {};

/** Answers every request on the next turn of the event loop. */
export class Answerer extends Dispatcher {
  override dispatch(_options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const controller = {
      abort: noop,
      pause: noop,
      resume: noop,
      aborted: false,
      paused: false,
      reason: null,
      rawHeaders: null,
      rawTrailers: null,
    } as unknown as Dispatcher.DispatchController;
    setImmediate(() => {
      handler.onRequestStart?.(controller, {});
      handler.onResponseStart?.(controller, 200, HEADERS, 'OK');
      handler.onResponseData?.(controller, BODY);
      handler.onResponseEnd?.(controller, {});
    });
    return true;
  }
}

/** Three answerers, which every client's instances are spread over from now on. */
export function installAnswerers(): Answerer[] {
  const answerers = [new Answerer(), new Answerer(), new Answerer()];
  const slots = new Map<string, InstancePool>();
  (PoolManager.prototype as unknown as { slot: (i: { id: string; origin: string }) => InstancePool }).slot = (
    instance,
  ) => {
    let slot = slots.get(instance.id);
    if (slot === undefined) {
      const answerer = answerers[slots.size % answerers.length]!;
      slot = new InstancePool(answerer as never, instance.origin);
      slots.set(instance.id, slot);
    }
    return slot;
  };
  return answerers;
}
