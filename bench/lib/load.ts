// Load generators. closedLoop keeps `concurrency` requests in flight (throughput benchmarks);
// openLoop sends at a fixed rate whatever the answers do (the Linkerd experiment: a slow
// instance must not slow the arrivals down, or its damage is hidden).

import { Recorder } from './stats.ts';

/** Sends request number `n`; resolves with the answering instance's id (`x-instance`), if known. */
export type Send = (n: number) => Promise<string | undefined>;

export interface Sample {
  requests: number;
  errors: number;
  /** Client process CPU (user + system) over the sample, µs. */
  cpuUs: number;
  wallMs: number;
  latencies: Float64Array;
  /** Successful requests per answering instance. */
  byInstance: Record<string, number>;
  /** A few of the errors, for diagnosis. */
  sampleErrors: string[];
}

export function describeError(error: unknown): string {
  const e = error as { code?: string; message?: string };
  return `${e.code ?? ''} ${e.message ?? String(error)}`.trim().slice(0, 300);
}

export async function closedLoop(
  send: Send,
  { concurrency, ms }: { concurrency: number; ms: number },
): Promise<Sample> {
  const latencies = new Recorder();
  const byInstance: Record<string, number> = {};
  const sampleErrors: string[] = [];
  let requests = 0;
  let errors = 0;
  let n = 0;
  const deadline = performance.now() + ms;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async () => {
    while (performance.now() < deadline) {
      const start = performance.now();
      try {
        const id = await send(n++);
        if (id !== undefined) byInstance[id] = (byInstance[id] ?? 0) + 1;
      } catch (error) {
        errors++;
        if (sampleErrors.length < 5) sampleErrors.push(describeError(error));
      }
      latencies.push(performance.now() - start);
      requests++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    requests,
    errors,
    cpuUs: cpu.user + cpu.system,
    wallMs,
    latencies: latencies.values().slice(),
    byInstance,
    sampleErrors,
  };
}

export interface Arrival {
  /** ms since the run started. */
  at: number;
  latencyMs: number;
  ok: boolean;
  instance: string | undefined;
  /** Error code when it failed. */
  code: string | undefined;
}

/**
 * Sends `rate` requests per second for `ms`, on schedule, never more than `maxInFlight` at once
 * (a request due while that many are pending counts as failed with code `CLIENT_SATURATED`).
 * `onTick(elapsedMs)` runs every millisecond or so, for phase changes; `stop()` ends it early.
 */
export async function openLoop(
  send: Send,
  {
    rate,
    ms,
    maxInFlight = 10_000,
    onTick,
    stop,
  }: {
    rate: number;
    ms: number;
    maxInFlight?: number;
    onTick?: (elapsedMs: number) => void;
    stop?: () => boolean;
  },
): Promise<Arrival[]> {
  const arrivals: Arrival[] = [];
  const pending = new Set<Promise<void>>();
  const t0 = performance.now();
  let sent = 0;
  const fire = (at: number) => {
    const n = sent++;
    if (pending.size >= maxInFlight) {
      arrivals.push({ at, latencyMs: 0, ok: false, instance: undefined, code: 'CLIENT_SATURATED' });
      return;
    }
    const start = performance.now();
    const p: Promise<void> = send(n).then(
      (instance) => {
        arrivals.push({ at, latencyMs: performance.now() - start, ok: true, instance, code: undefined });
      },
      (error: unknown) => {
        const code = (error as { code?: string }).code ?? 'UNKNOWN';
        arrivals.push({ at, latencyMs: performance.now() - start, ok: false, instance: undefined, code });
      },
    );
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - t0;
      onTick?.(elapsed);
      const due = Math.min(Math.floor((elapsed / 1000) * rate), Math.floor((ms / 1000) * rate));
      while (sent < due) fire(elapsed);
      if (elapsed >= ms || stop?.() === true) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(pending);
  return arrivals.sort((a, b) => a.at - b.at);
}
