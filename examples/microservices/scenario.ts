// The scripted failure scenario: kill one inventory instance, hang another, drain a third, then
// bring them back, timing how long the orders service's Picket client takes to stop using each
// one (failover) and to use it again (recovery). Waits are on the client's own state events.

import type { Instance, Registry } from './fleet.ts';
import type { InstanceRow, OrdersMessage } from './protocol.ts';

export interface Timings {
  warmupMs: number;
  holdMs: number;
  hangMs: number;
  cooldownMs: number;
}

export const NORMAL: Timings = { warmupMs: 3000, holdMs: 2000, hangMs: 3500, cooldownMs: 2500 };
export const FAST: Timings = { warmupMs: 1500, holdMs: 800, hangMs: 3000, cooldownMs: 1000 };

/** How long a failover or a recovery may take before the scenario gives up on it, ms. */
const DEADLINE_MS = 15_000;
const OUT = ['unhealthy', 'ejected', 'draining', 'left'];

export interface StateEvent {
  id: string;
  from: string;
  to: string;
  reason: string;
  at: number;
}

export interface Incident {
  instance: string;
  fault: string;
  faultAt: number;
  /** When the client stopped using it, and the state it went to. */
  outAt?: number;
  outState?: string;
  /** When the fault was over: the process answering again (restarted, or continued). */
  clearedAt?: number;
  clearedBy?: string;
  /** When the client's balancer counted it healthy again. */
  backAt?: number;
}

/** What the orders service's client sees, from its IPC messages. */
export class View {
  rows: InstanceRow[] = [];
  rowsAt = 0;
  retries = 0;
  readonly events: StateEvent[] = [];
  readonly #waiters = new Set<() => void>();
  readonly #onState: (event: StateEvent) => void;

  constructor(onState: (event: StateEvent) => void) {
    this.#onState = onState;
  }

  onMessage(message: OrdersMessage): void {
    if (message.type === 'stats') {
      this.rows = message.instances;
      this.rowsAt = message.at;
      this.retries = message.retries;
    } else if (message.type === 'state') {
      const { id, from, to, reason, at } = message;
      const event = { id, from, to, reason, at };
      this.events.push(event);
      this.#onState(event);
      for (const wake of this.#waiters) wake();
    }
  }

  /**
   * The instance's latest state as the client reported it: a state event, or a newer stats row
   * (`left` once it is no longer in the client's list at all).
   */
  state(id: string): string | undefined {
    let event: StateEvent | undefined;
    for (let i = this.events.length - 1; i >= 0 && event === undefined; i--) {
      if (this.events[i]!.id === id) event = this.events[i];
    }
    if (event !== undefined && event.at >= this.rowsAt) return event.to;
    return this.rows.find((r) => r.id === id)?.state ?? (this.rowsAt > 0 ? 'left' : undefined);
  }

  /**
   * The first event at or after `since` that puts `id` in one of `states` (or `since` itself when
   * `already` and it is in one now); undefined at the deadline or when `signal` aborts.
   */
  waitFor(
    id: string,
    states: readonly string[],
    since: number,
    options: { timeoutMs: number; signal: AbortSignal; already?: boolean },
  ): Promise<StateEvent | undefined> {
    const find = () => this.events.find((e) => e.id === id && e.at >= since && states.includes(e.to));
    const now = this.state(id);
    if (options.already === true && now !== undefined && states.includes(now)) {
      return Promise.resolve({ id, from: now, to: now, reason: 'already', at: since });
    }
    return new Promise((resolve) => {
      const finish = (event: StateEvent | undefined) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        options.signal.removeEventListener('abort', stop);
        resolve(event);
      };
      const check = () => {
        const event = find();
        if (event !== undefined) finish(event);
      };
      const stop = () => finish(undefined);
      const timer = setTimeout(stop, options.timeoutMs);
      options.signal.addEventListener('abort', stop, { once: true });
      this.#waiters.add(check);
      check();
    });
  }
}

export interface ScenarioContext {
  /** inventory-1, -2, -3. */
  instances: readonly Instance[];
  registry: Registry;
  view: View;
  timings: Timings;
  /** Rotates the roles in `--forever` rounds. */
  round: number;
  phase(text: string): void;
  log(text: string): void;
  signal: AbortSignal;
}

/** A scripted pause that ends early on Ctrl-C. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;

export async function runScenario(ctx: ScenarioContext): Promise<Incident[]> {
  const { view, timings, signal } = ctx;
  const role = (k: number) => ctx.instances[(k + ctx.round) % ctx.instances.length]!;
  const [crashed, stalled, drained] = [role(0), role(1), role(2)];
  const incidents: Incident[] = [];

  const begin = (instance: Instance, fault: string): Incident => {
    const incident: Incident = { instance: instance.name, fault, faultAt: Date.now() };
    incidents.push(incident);
    return incident;
  };
  // Resolves when the client has stopped using the instance (or at the deadline / on `cancel`).
  const out = async (incident: Incident, cancel = signal) => {
    const event = await view.waitFor(incident.instance, OUT, incident.faultAt, {
      timeoutMs: DEADLINE_MS,
      signal: cancel,
    });
    if (event === undefined) return;
    incident.outAt = event.at;
    incident.outState = event.to;
    ctx.log(
      `${incident.instance} out of rotation ${seconds(event.at - incident.faultAt)} after the fault (${event.to})`,
    );
  };
  // `clearedAt`: when the fault was cleared; a restart clears it when it begins, since the client
  // may see the instance healthy again before the restart has returned.
  const back = async (incident: Incident, by: string, clearedAt = Date.now()) => {
    incident.clearedAt = clearedAt;
    incident.clearedBy = by;
    const event = await view.waitFor(incident.instance, ['healthy'], incident.clearedAt, {
      timeoutMs: DEADLINE_MS,
      signal,
      already: incident.outAt === undefined,
    });
    if (event === undefined) {
      if (!signal.aborted) ctx.log(`${incident.instance} did not come back within ${seconds(DEADLINE_MS)}`);
      return;
    }
    incident.backAt = event.at;
    ctx.log(`${incident.instance} healthy again ${seconds(event.at - incident.clearedAt)} after the ${by}`);
  };

  ctx.phase('warm-up: three inventory instances serving');
  await pause(timings.warmupMs, signal);
  if (signal.aborted) return incidents;

  ctx.phase(`kill ${crashed.name} (SIGKILL): a crash; it stays down for now`);
  const crash = begin(crashed, 'killed (SIGKILL)');
  await crashed.kill();
  await out(crash);
  await pause(timings.holdMs, signal);
  if (signal.aborted) return incidents;

  ctx.phase(
    `hang ${stalled.name} (SIGSTOP for ${seconds(timings.hangMs)}): it accepts connections, answers nothing`,
  );
  const stall = begin(stalled, `hung (SIGSTOP for ${seconds(timings.hangMs)})`);
  const stopWaiting = new AbortController();
  const stallOut = out(stall, AbortSignal.any([signal, stopWaiting.signal]));
  stalled.hang();
  await pause(timings.hangMs, signal);
  stalled.resume();
  stopWaiting.abort(); // a stall shorter than detection is not a failover
  await stallOut;
  ctx.phase(`continue ${stalled.name} (SIGCONT)`);
  await back(stall, 'SIGCONT');
  if (signal.aborted) return incidents;

  ctx.phase(`drain ${drained.name} (SIGTERM): it reports "drain", finishes its requests, exits`);
  const drain = begin(drained, 'drained (SIGTERM)');
  const drainOut = out(drain);
  await drained.drain();
  await drainOut;
  await pause(timings.holdMs / 2, signal);
  if (signal.aborted) return incidents;

  ctx.phase(`bring back ${crashed.name} and ${drained.name} (restarted on their ports)`);
  await Promise.all(
    [
      [crashed, crash],
      [drained, drain],
    ].map(async ([instance, incident]) => {
      const restartedAt = Date.now();
      await (instance as Instance).start(ctx.registry);
      await back(incident as Incident, 'restart', restartedAt);
    }),
  );
  if (signal.aborted) return incidents;

  ctx.phase('all three serving again');
  await pause(timings.cooldownMs, signal);
  return incidents;
}

/** One summary line per incident: what happened, failover time, recovery time. */
export function describeIncident(incident: Incident): string {
  if (incident.outAt === undefined && incident.clearedAt !== undefined && incident.backAt !== undefined) {
    return `${incident.instance.padEnd(12)} ${incident.fault.padEnd(26)} over before the checks took it out`;
  }
  const failover =
    incident.outAt === undefined
      ? 'never taken out of rotation'
      : `out of rotation after ${seconds(incident.outAt - incident.faultAt)} (${incident.outState})`;
  const recovery =
    incident.clearedAt === undefined
      ? 'not brought back'
      : incident.backAt === undefined
        ? `not healthy again within ${seconds(DEADLINE_MS)} of the ${incident.clearedBy}`
        : `healthy ${seconds(incident.backAt - incident.clearedAt)} after the ${incident.clearedBy}`;
  return `${incident.instance.padEnd(12)} ${incident.fault.padEnd(26)} ${failover}; ${recovery}`;
}
