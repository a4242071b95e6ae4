// A node:http server that shuts down without failing a single caller. The pattern:
//   1. loadReporter serves this process's load at /load, and counts requests in flight;
//   2. on SIGTERM, reporter.drain(): /load now says `drain` (HTTP 503), and Picket clients that
//      check it (loadCheck) stop sending new requests at their next check — no threshold wait;
//   3. responses carry `Connection: close`, so callers' keep-alive connections end cleanly;
//   4. once requests have stopped arriving and none is in flight, close the server and exit.
// With Express the reporter is middleware: `app.use(reporter)` (before the routes).
//
//   PORT=8080 node --conditions=picket-source examples/graceful-shutdown/server.ts

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadReporter } from 'picket';

const name = process.env.NAME ?? `server-${process.pid}`;
/** Requests must have stopped for this long before the server closes, ms. */
const QUIET_MS = 300;
/** Drain at most this long: past it, whoever still calls gets their connection closed. */
const MAX_DRAIN_MS = 10_000;

const reporter = loadReporter();
let draining = false;
let lastRequest = performance.now();

const server = createServer((req, res) => {
  if (draining) res.setHeader('connection', 'close');
  if (req.url !== reporter.path) lastRequest = performance.now();
  // The reporter answers /load itself and counts every other request in flight until it ends.
  reporter(req, res, () => {
    // The application: a little work, then an answer.
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-instance': name });
      res.end(JSON.stringify({ path: req.url, servedBy: name }));
    }, 5);
  });
});

process.once('SIGTERM', () => {
  draining = true;
  reporter.drain();
  console.log(`${name}: SIGTERM — draining (load report says "drain")`);
  const since = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const quiet = now - lastRequest >= QUIET_MS && reporter.report().inFlight === 0;
    if (!quiet && now - since < MAX_DRAIN_MS) return;
    clearInterval(timer);
    console.log(
      `${name}: no requests for ${QUIET_MS} ms — closing after ${Math.round(now - since)} ms of draining`,
    );
    // close(): no new connections; requests in flight finish; idle keep-alive sockets close.
    server.close(() => {
      reporter.close();
      console.log(`${name}: closed, exiting`);
      process.exit(0);
    });
  }, 25);
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(`${name}: listening on http://127.0.0.1:${port}`);
  process.send?.({ port });
});
