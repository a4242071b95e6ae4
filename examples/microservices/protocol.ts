// Messages between run.ts and its child processes (Node IPC, from child_process.fork).

/** One inventory instance as the orders service's Picket client sees it. */
export interface InstanceRow {
  id: string;
  url: string;
  /** The balancer's state: healthy, unhealthy, ejected, unknown, warming or draining. */
  state: string;
  /** Why it is not healthy, from its health sources. */
  reason: string | undefined;
  /** Attempts per second sent to it (successful or not). */
  rps: number;
  /** Latency of attempts on it over the last seconds, ms. */
  p50: number | undefined;
  p99: number | undefined;
  inFlight: number;
  /** Outlier-detection ejections since orders started. */
  ejections: number;
  /** Attempts on it that failed and were retried on another instance, since orders started. */
  retried: number;
}

export type OrdersMessage =
  | { type: 'listening'; port: number }
  | { type: 'state'; id: string; from: string; to: string; reason: string; at: number }
  | { type: 'stats'; at: number; retries: number; instances: InstanceRow[] };

export type InventoryMessage = { type: 'listening'; name: string; url: string };
