// The load generator: GETs to the orders service at a steady rate, alternating its fetch and
// axios routes, counting every answer that is not a 200 as a failed request.

import { Agent, request } from 'undici';
import { quantile } from '../../src/cli/stats.ts';

export interface LoadTotals {
  sent: number;
  ok: number;
  failed: number;
  byRoute: { fetch: number; axios: number };
  /** The first few failures, for the summary. */
  failures: string[];
}

export class LoadGenerator {
  readonly totals: LoadTotals = { sent: 0, ok: 0, failed: 0, byRoute: { fetch: 0, axios: 0 }, failures: [] };
  readonly #origin: string;
  readonly #rate: number;
  readonly #agent = new Agent({ keepAliveTimeout: 10_000, connections: 64 });
  readonly #inFlight = new Set<Promise<void>>();
  #latencies: number[] = [];
  #timer: NodeJS.Timeout | undefined;
  #id = 0;

  constructor(origin: string, rate: number) {
    this.#origin = origin;
    this.#rate = rate;
  }

  start(): void {
    let due = performance.now();
    const every = 1000 / this.#rate;
    this.#timer = setInterval(() => {
      const now = performance.now();
      // Catch up after a slow tick, but never send a burst of more than a quarter second's worth.
      if (now - due > 250) due = now - 250;
      while (due <= now) {
        due += every;
        this.#send();
      }
    }, 10);
  }

  /** p50 and p99 of end-to-end latency since the last call, ms. */
  takeLatency(): { p50: number | undefined; p99: number | undefined } {
    const sorted = this.#latencies.sort((a, b) => a - b);
    this.#latencies = [];
    return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Stops sending and waits for the answers still on their way. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all(this.#inFlight);
    await this.#agent.close();
  }

  #send(): void {
    const id = ++this.#id;
    const route = id % 2 === 0 ? 'fetch' : 'axios';
    const path = route === 'fetch' ? `/orders/${id % 1000}` : `/orders-axios/${id % 1000}`;
    this.totals.sent++;
    this.totals.byRoute[route]++;
    const start = performance.now();
    const done = request(`${this.#origin}${path}`, { dispatcher: this.#agent, headersTimeout: 20_000 })
      .then(async (res) => {
        const text = await res.body.text();
        if (res.statusCode === 200) {
          this.totals.ok++;
          this.#latencies.push(performance.now() - start);
        } else this.#fail(`GET ${path}: ${res.statusCode} ${text.slice(0, 300)}`);
      })
      .catch((error: unknown) =>
        this.#fail(`GET ${path}: ${error instanceof Error ? error.message : String(error)}`),
      )
      .finally(() => this.#inFlight.delete(done));
    this.#inFlight.add(done);
  }

  #fail(what: string): void {
    this.totals.failed++;
    if (this.totals.failures.length < 5) this.totals.failures.push(what);
  }
}
