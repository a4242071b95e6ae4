// CPU placement for the steady-state benchmarks. On one machine the client, its instances and a
// proxy otherwise share every core, so a comparison measures the machine's total CPU rather
// than what a client pays. The `pinned` layout emulates separate hosts: the instances on the
// last core (their own host), the client process and a proxy on core 0 (the client's host,
// where a local proxy such as HAProxy in SmartStack or a sidecar runs). `shared` is the
// scheduler's choice. Needs `taskset` (util-linux) and at least two cores.

import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

export type Layout = 'shared' | 'pinned';

export function canPin(): boolean {
  if (availableParallelism() < 2) return false;
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Sets the CPU affinity of every thread of `pid` (a list such as '0' or '0-1'). */
export function pin(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

export interface Placement {
  client: number;
  instances: readonly number[];
  proxies: readonly number[];
}

/** Places the processes for `layout`; `shared` undoes a previous pinning. */
export function place(layout: Layout, p: Placement): void {
  const last = availableParallelism() - 1;
  const all = `0-${last}`;
  const clientCore = layout === 'pinned' ? '0' : all;
  const instanceCore = layout === 'pinned' ? String(last) : all;
  pin(p.client, clientCore);
  for (const pid of p.proxies) pin(pid, clientCore);
  for (const pid of p.instances) pin(pid, instanceCore);
}
