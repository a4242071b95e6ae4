// An instance of fixed capacity for the uneven-capacity bench: at most `slots` requests served at
// once, each for `serviceMs` (a timer, so that instances in one process do not compete for the
// CPU), the rest queued in arrival order. Like loadReporter, it reports its own load on every
// response, `endpoint-load-metrics: TEXT application_utilization=…, rps_fractional=…`, figures
// of the last sample window: busy slot-time over slots × window, and requests answered per second.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CapacityServer {
  readonly url: string;
  readonly id: string;
  /** Requests answered since start. */
  readonly served: number;
  close(): Promise<void>;
}

const WINDOW_MS = 250;

export async function capacityServer(id: string, slots: number, serviceMs: number): Promise<CapacityServer> {
  let busy = 0;
  let served = 0;
  const queue: (() => void)[] = [];
  // Busy slot-milliseconds and answers in the current window, integrated at each change.
  let busyMs = 0;
  let answers = 0;
  let since = performance.now();
  let windowStart = since;
  let report = 'TEXT application_utilization=0, rps_fractional=0';
  const account = () => {
    const now = performance.now();
    busyMs += busy * (now - since);
    since = now;
  };
  const sampler = setInterval(() => {
    account();
    const elapsed = since - windowStart;
    const utilization = busyMs / (slots * elapsed);
    const rps = (answers * 1000) / elapsed;
    report = `TEXT application_utilization=${utilization.toFixed(4)}, rps_fractional=${rps.toFixed(2)}`;
    busyMs = 0;
    answers = 0;
    windowStart = since;
  }, WINDOW_MS);
  sampler.unref();

  const start = (finish: () => void) => {
    account();
    busy++;
    setTimeout(() => {
      account();
      busy--;
      answers++;
      served++;
      finish();
      const next = queue.shift();
      if (next !== undefined) start(next);
    }, serviceMs);
  };

  const server: Server = createServer((req, res) => {
    req.resume();
    const finish = () => {
      res
        .writeHead(200, { 'x-instance': id, 'endpoint-load-metrics': report, 'content-length': '2' })
        .end('ok');
    };
    if (busy < slots) start(finish);
    else queue.push(finish);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    id,
    get served() {
      return served;
    },
    close() {
      clearInterval(sampler);
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
