// `picket watch`: the live table for any service. A Picket client discovers the instances from
// `--discovery` and health-checks them; the table shows each one's state as the balancer sees it,
// its requests per second, health-check latency (p50/p99), in-flight requests and ejections.
// With `--subset`, only one caller's subset is watched, and each row says why it is used.

import type { Writable } from 'node:stream';
import type { Instance, SubsetRole } from '@picket/core';
import { type CheckResult, createHealthChecker, type HealthChecker } from '@picket/health';
import type { Client, ClientInstanceSnapshot, ClientSnapshot } from '@picket/http';
import { createClient } from '../client.ts';
import { dashboard } from '../dashboard.ts';
import { openInBrowser } from './browser.ts';
import { describeSpec, discoveryFor } from './spec.ts';
import { SlidingStats } from './stats.ts';
import { type Column, createScreen, formatMs, renderTable, stateColor } from './table.ts';
import { EXIT_FAILED, EXIT_OK } from './usage.ts';
import { settingsFrom, type WatchSettings } from './watch-options.ts';

export { WATCH_USAGE } from './watch-options.ts';

/** How far back requests per second and check latencies look, ms. */
const WINDOW_MS = 10_000;

export interface WatchRow {
  id: string;
  url: string;
  state: string;
  /** Why the balancer does not use it, when it does not. */
  reason: string | null;
  priority: number;
  zone: string | null;
  weight: number;
  requestsPerSecond: number;
  inFlight: number;
  /** Outlier-detection ejections seen since the watch began. */
  ejections: number;
  /** With `--subset`: `'member'` or `'grown'` (taken while members fail); null without. */
  subset: SubsetRole | null;
  check: {
    p50Ms: number | undefined;
    p99Ms: number | undefined;
    last: Pick<CheckResult, 'ok' | 'reason' | 'latencyMs'> | null;
  };
}

export interface WatchReport {
  service: string;
  discovery: string;
  at: string;
  ready: boolean;
  discoveryError: string | null;
  healthy: number;
  instances: WatchRow[];
  requests?: { sent: number; ok: number; failed: number };
  /** With `--subset`: how the subset is chosen, and how many instances are in it and outside it. */
  subset?: {
    mode: string;
    size: number;
    callerId: string;
    peers: { index: number; count: number } | null;
    member: number;
    grown: number;
    /** Outside the subset: not checked, not connected to. */
    standby: number;
  };
}
/** Why the balancer does not use an instance: its unhealthy or unknown health sources. */
function reasonOf(i: ClientInstanceSnapshot): string | null {
  const parts = Object.entries(i.health).map(([source, h]) => `${source}: ${h.reason || h.state}`);
  return parts.length === 0 ? null : parts.join('; ');
}

class Watcher {
  readonly settings: WatchSettings;
  readonly client: Client;
  readonly stats = new SlidingStats(WINDOW_MS);
  readonly lastCheck = new Map<string, CheckResult>();
  readonly ejections = new Map<string, number>();
  readonly requests = { sent: 0, ok: 0, failed: 0, inFlight: 0 };
  checker: HealthChecker | undefined;
  #traffic: NodeJS.Timeout | undefined;

  constructor(settings: WatchSettings) {
    this.settings = settings;
    const { check, interval, timeout } = settings;
    this.client = createClient({
      service: settings.service,
      discovery: discoveryFor(settings.spec),
      ...(settings.subset === undefined ? {} : { subset: settings.subset }),
      ...(check === undefined
        ? {}
        : {
            health: (balancer) => {
              const checker = createHealthChecker(balancer, { check, interval, timeout });
              checker.on('check', ({ instance, result }) => this.#checked(instance, result));
              this.checker = checker;
              return checker;
            },
          }),
    });
    this.client.on('eject', ({ instance }) => {
      this.ejections.set(instance.id, (this.ejections.get(instance.id) ?? 0) + 1);
    });
  }

  #checked(instance: Instance, result: CheckResult): void {
    this.lastCheck.set(instance.id, result);
    this.stats.addLatency(instance.id, result.latencyMs);
  }

  startTraffic(): void {
    const path = this.settings.request;
    if (path === undefined) return;
    const every = 1000 / this.settings.rate;
    let due = performance.now();
    this.#traffic = setInterval(
      () => {
        const now = performance.now();
        while (due <= now) {
          due += every;
          if (this.requests.inFlight >= 256) continue;
          this.requests.sent++;
          this.requests.inFlight++;
          this.client
            .request({ path })
            .then(async (res) => {
              await res.body.dump();
              if (res.statusCode < 500) this.requests.ok++;
              else this.requests.failed++;
            })
            .catch(() => {
              this.requests.failed++;
            })
            .finally(() => {
              this.requests.inFlight--;
            });
        }
      },
      Math.max(10, Math.min(100, every)),
    );
  }

  /** True once discovery delivered and every instance has had its first check. */
  settled(snapshot: ClientSnapshot): boolean {
    if (!snapshot.discovery.ready) return false;
    if (this.settings.check === undefined) return true;
    return snapshot.instances.every((i) => this.lastCheck.has(i.id));
  }

  report(snapshot = this.client.snapshot()): WatchReport {
    const now = performance.now();
    const ids = new Set(snapshot.instances.map((i) => i.id));
    const instances = snapshot.instances.map((i): WatchRow => {
      const latency = this.stats.latency(i.id, now);
      const last = this.lastCheck.get(i.id);
      return {
        id: i.id,
        url: i.url,
        state: i.state,
        reason: reasonOf(i),
        priority: i.priority,
        zone: i.zone ?? null,
        weight: i.effectiveWeight,
        requestsPerSecond: Math.round(this.stats.rate(i.id, i.requests, now) * 10) / 10,
        inFlight: i.active,
        ejections: this.ejections.get(i.id) ?? 0,
        subset: i.subset ?? null,
        check: {
          p50Ms: latency.p50,
          p99Ms: latency.p99,
          last: last === undefined ? null : { ok: last.ok, reason: last.reason, latencyMs: last.latencyMs },
        },
      };
    });
    this.stats.retain(ids);
    const report: WatchReport = {
      service: snapshot.service,
      discovery: describeSpec(this.settings.spec),
      at: new Date().toISOString(),
      ready: snapshot.discovery.ready,
      discoveryError: snapshot.discovery.lastError ?? null,
      healthy: instances.filter((i) => i.state === 'healthy').length,
      instances,
    };
    if (this.settings.request !== undefined) {
      const { sent, ok, failed } = this.requests;
      report.requests = { sent, ok, failed };
    }
    const subset = snapshot.subset;
    if (subset !== undefined) {
      const { mode, size, callerId, peers, counts } = subset;
      report.subset = { mode, size, callerId, peers: peers ?? null, ...counts };
    }
    return report;
  }

  /** Stops sending and waits (bounded) for the answers still on their way, so totals add up. */
  async stopTraffic(): Promise<void> {
    if (this.#traffic === undefined) return;
    clearInterval(this.#traffic);
    this.#traffic = undefined;
    const deadline = performance.now() + this.settings.timeout + 1000;
    while (this.requests.inFlight > 0 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async close(): Promise<void> {
    await this.stopTraffic();
    await this.client.close();
  }
}

const COLUMNS: Column<WatchRow>[] = [
  { title: 'INSTANCE', value: (r) => r.id },
  { title: 'STATE', value: (r) => r.state, color: (r) => stateColor(r.state) },
  { title: 'PRIO', align: 'right', value: (r) => String(r.priority) },
  { title: 'REQ/S', align: 'right', value: (r) => r.requestsPerSecond.toFixed(1) },
  { title: 'CHECK P50', align: 'right', value: (r) => formatMs(r.check.p50Ms) },
  { title: 'CHECK P99', align: 'right', value: (r) => formatMs(r.check.p99Ms) },
  { title: 'IN-FLIGHT', align: 'right', value: (r) => String(r.inFlight) },
  { title: 'EJECTIONS', align: 'right', value: (r) => String(r.ejections) },
  { title: 'LAST CHECK', value: (r) => r.check.last?.reason ?? r.reason ?? '-' },
];
const SUBSET_COLUMN: Column<WatchRow> = {
  title: 'SUBSET',
  value: (r) => r.subset ?? '-',
  color: (r) => (r.subset === 'grown' ? '33' : undefined),
};

/** `subset: 3 of 12 in use (random, caller "orders-0", size 2): 2 members, 1 grown; 9 outside, not checked`. */
function subsetLine(subset: NonNullable<WatchReport['subset']>): string {
  const used = subset.member + subset.grown;
  const how =
    subset.peers === null
      ? `random, caller ${JSON.stringify(subset.callerId)}`
      : `deterministic, caller ${subset.peers.index} of ${subset.peers.count}`;
  return `subset: ${used} of ${used + subset.standby} in use (${how}, size ${subset.size}): ${subset.member} member${subset.member === 1 ? '' : 's'}, ${subset.grown} grown; ${subset.standby} outside, not checked`;
}

export function formatWatch(
  report: WatchReport,
  settings: Pick<WatchSettings, 'checkLabel'>,
  color: boolean,
): string[] {
  const lines = [
    `${report.service} — ${report.discovery} — checks: ${settings.checkLabel} — ${report.at.slice(11, 19)} UTC`,
  ];
  if (!report.ready) lines.push('waiting for discovery…');
  if (report.discoveryError !== null) {
    lines.push(
      `discovery error${report.ready ? ' (the last good list stays)' : ''}: ${report.discoveryError}`,
    );
  }
  const columns =
    report.subset === undefined ? COLUMNS : [...COLUMNS.slice(0, 2), SUBSET_COLUMN, ...COLUMNS.slice(2)];
  lines.push(...renderTable(columns, report.instances, color));
  lines.push(`${report.healthy} of ${report.instances.length} healthy`);
  if (report.subset !== undefined) lines.push(subsetLine(report.subset));
  if (report.requests !== undefined) {
    const r = report.requests;
    lines.push(`requests through Picket: ${r.sent} sent, ${r.ok} ok, ${r.failed} failed`);
  }
  return lines;
}

async function once(watcher: Watcher, out: Writable, json: boolean): Promise<number> {
  const { interval, timeout } = watcher.settings;
  const start = performance.now();
  const deadline = start + Math.max(10_000, interval + timeout + 3000);
  const { promise: settled, resolve } = Promise.withResolvers<void>();
  const poll = setInterval(() => {
    const snapshot = watcher.client.snapshot();
    const now = performance.now();
    // Discovery that keeps failing (it retries with backoff) is reported after one check timeout.
    const failing =
      !snapshot.discovery.ready && snapshot.discovery.lastError !== undefined && now - start > timeout;
    if (watcher.settled(snapshot) || failing || now > deadline) resolve();
  }, 25);
  await settled;
  clearInterval(poll);
  const report = watcher.report();
  out.write(
    json
      ? `${JSON.stringify(report, null, 2)}\n`
      : `${formatWatch(report, watcher.settings, false).join('\n')}\n`,
  );
  return report.ready && report.healthy > 0 ? EXIT_OK : EXIT_FAILED;
}

/** Resolves when `stop` aborts (at once when it already has). */
function untilAborted(stop: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (stop.aborted) resolve();
    else stop.addEventListener('abort', () => resolve(), { once: true });
  });
}

async function live(
  watcher: Watcher,
  out: Writable & { isTTY?: boolean },
  json: boolean,
  stop: AbortSignal,
): Promise<number> {
  const screen = json ? undefined : createScreen(out, out.isTTY === true);
  const color = out.isTTY === true && process.env.NO_COLOR === undefined;
  const every = Math.max(250, Math.min(watcher.settings.interval, 2000));
  const draw = () => {
    const report = watcher.report();
    if (screen === undefined) out.write(`${JSON.stringify(report)}\n`);
    else screen.draw(formatWatch(report, watcher.settings, color));
  };
  watcher.client.on('instance-state', ({ instance, from, to, reason }) => {
    screen?.log(
      `${new Date().toISOString().slice(11, 23)}  ${instance.id}: ${from} → ${to}${reason ? ` (${reason})` : ''}`,
    );
  });
  draw();
  const timer = setInterval(draw, every);
  await untilAborted(stop);
  clearInterval(timer);
  await watcher.stopTraffic();
  draw();
  screen?.close();
  return EXIT_OK;
}

/** `--web`: the dashboard of the watched client, until `stop` aborts. */
async function web(
  watcher: Watcher,
  out: Writable & { isTTY?: boolean },
  stop: AbortSignal,
  address: { host: string; port: number },
): Promise<number> {
  const board = await dashboard({
    clients: [watcher.client],
    ...address,
    intervalMs: Math.max(100, Math.min(watcher.settings.interval, 2000)),
  });
  try {
    out.write(`Dashboard of ${watcher.settings.service}: ${board.url}  (Ctrl-C stops it)\n`);
    if (out.isTTY === true) openInBrowser(board.url);
    await untilAborted(stop);
    await watcher.stopTraffic();
    return EXIT_OK;
  } finally {
    await board.close();
  }
}

/** Runs `picket watch`; resolves with the exit code when `--once` is done or `stop` aborts. */
export async function watchCommand(
  args: readonly string[],
  out: Writable,
  stop: AbortSignal,
): Promise<number> {
  const settings = settingsFrom(args);
  const watcher = new Watcher(settings);
  try {
    watcher.startTraffic();
    if (settings.web !== undefined) return await web(watcher, out, stop, settings.web);
    return settings.once
      ? await once(watcher, out, settings.json)
      : await live(watcher, out, settings.json, stop);
  } finally {
    await watcher.close();
  }
}
