// Starts a fleet of instances spread over a few processes (fleet-server.ts), several ports each,
// and steers each instance's delay over IPC.

import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { InstanceCounts } from './fleet-server.ts';

export type { InstanceCounts };

const SCRIPT = fileURLToPath(new URL('./fleet-server.ts', import.meta.url));

export interface FleetInstance {
  readonly id: string;
  readonly url: string;
  /** Makes this instance answer after `delayMs`. */
  setDelay(delayMs: number): Promise<void>;
}

export interface Fleet {
  readonly instances: readonly FleetInstance[];
  /** Each instance's counts (in `instances` order). */
  counts(): Promise<Map<string, InstanceCounts>>;
  /** Zeroes every count but the open sockets. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

export async function startFleet(count: number, processes: number): Promise<Fleet> {
  const children: ChildProcess[] = [];
  const instances: FleetInstance[] = [];
  /** Per process: asks for every count of its instances (resetting them first when asked). */
  const readers: Array<(reset: boolean) => Promise<Map<string, InstanceCounts>>> = [];
  let seq = 0;
  for (let p = 0; p < processes; p++) {
    const ids: string[] = [];
    for (let i = p; i < count; i += processes) ids.push(`s${String(i).padStart(2, '0')}`);
    const child = fork(SCRIPT, [], {
      env: { ...process.env, FLEET_IDS: ids.join(',') },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    const exited = once(child, 'exit').then(() => {
      throw new Error('a fleet process exited before listening');
    });
    const [message] = (await Promise.race([once(child, 'message'), exited])) as [{ ports: number[] }];
    exited.catch(() => undefined);
    const call = (msg: Record<string, unknown>) =>
      new Promise<{ counts: InstanceCounts[] }>((resolve) => {
        const n = ++seq;
        const onMessage = (m: { seq?: number; counts: InstanceCounts[] }) => {
          if (m.seq !== n) return;
          child.off('message', onMessage);
          resolve(m);
        };
        child.on('message', onMessage);
        child.send({ ...msg, seq: n });
      });
    ids.forEach((id, index) => {
      instances.push({
        id,
        url: `http://127.0.0.1:${message.ports[index]}`,
        setDelay: async (delayMs) => {
          await call({ cmd: 'set', index, delayMs });
        },
      });
    });
    readers.push(async (reset) => {
      const { counts } = await call({ cmd: reset ? 'reset' : 'read' });
      return new Map(ids.map((id, index) => [id, counts[index] as InstanceCounts]));
    });
  }
  instances.sort((a, b) => a.id.localeCompare(b.id));
  const read = async (reset: boolean) => {
    const all = new Map<string, InstanceCounts>();
    for (const part of await Promise.all(readers.map((r) => r(reset)))) {
      for (const [id, c] of part) all.set(id, c);
    }
    return all;
  };
  return {
    instances,
    counts: () => read(false),
    async reset() {
      await read(true);
    },
    close: () => killAll(children),
  };
}

/** Kills every child still running and waits for each to exit. */
export async function killAll(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (c) => {
      if (c.exitCode !== null || c.signalCode !== null) return;
      const exited = once(c, 'exit');
      c.kill('SIGKILL');
      await exited;
    }),
  );
}
