// Starts a fleet of instances spread over a few processes (fleet-server.ts), several ports each,
// and steers each instance's delay over IPC.

import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./fleet-server.ts', import.meta.url));

export interface FleetInstance {
  readonly id: string;
  readonly url: string;
  /** Makes this instance answer after `delayMs`. */
  setDelay(delayMs: number): Promise<void>;
}

export interface Fleet {
  readonly instances: readonly FleetInstance[];
  close(): Promise<void>;
}

export async function startFleet(count: number, processes: number): Promise<Fleet> {
  const children: ChildProcess[] = [];
  const instances: FleetInstance[] = [];
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
      new Promise<void>((resolve) => {
        const n = ++seq;
        const onMessage = (m: { seq?: number }) => {
          if (m.seq !== n) return;
          child.off('message', onMessage);
          resolve();
        };
        child.on('message', onMessage);
        child.send({ ...msg, seq: n });
      });
    ids.forEach((id, index) => {
      instances.push({
        id,
        url: `http://127.0.0.1:${message.ports[index]}`,
        setDelay: (delayMs) => call({ cmd: 'set', index, delayMs }),
      });
    });
  }
  instances.sort((a, b) => a.id.localeCompare(b.id));
  return {
    instances,
    async close() {
      await Promise.all(
        children.map(async (c) => {
          if (c.exitCode !== null || c.signalCode !== null) return;
          const exited = once(c, 'exit');
          c.kill('SIGKILL');
          await exited;
        }),
      );
    },
  };
}
