// The processes of the demo: three inventory instances (started, killed, hung, drained and
// started again on the same port), the orders service, and the registry they share: a JSON file
// in a temp dir, or a real etcd on loopback ports.

import { type ChildProcess, fork } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InventoryMessage, OrdersMessage } from './protocol.ts';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

/** Every child process of the demo, so that none outlives it whatever happens. */
const children = new Set<ChildProcess>();

/** Kills every child at once (SIGCONT first, so a hung one dies too). Safe in an `exit` handler. */
export function killAll(): void {
  for (const child of children) {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
}

/** Forks `script`; resolves with the child and its first `listening` message, or rejects at the deadline. */
function launch<M extends { type: string }>(
  script: string,
  env: Record<string, string>,
  onMessage: (message: M) => void,
): Promise<{ child: ChildProcess; first: M }> {
  const child = fork(here(script), [], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    const onEarlyExit = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited while starting (${signal ?? `code ${code}`})`));
    };
    const timer = setTimeout(() => {
      child.off('exit', onEarlyExit);
      child.kill('SIGKILL');
      reject(new Error(`${script} did not start within 20 s`));
    }, 20_000);
    child.once('exit', onEarlyExit);
    child.on('message', (message: M) => {
      if (message.type === 'listening') {
        clearTimeout(timer);
        child.off('exit', onEarlyExit);
        resolve({ child, first: message });
      }
      onMessage(message);
    });
  });
}

export interface Registry {
  /** `file /tmp/…/inventory.json` or `etcd http://127.0.0.1:…`. */
  readonly description: string;
  /** Environment for the inventory and orders processes. */
  readonly env: Record<string, string>;
  close(): Promise<void>;
}

/** A JSON file listing the three instances; fileList() in orders watches it. */
export async function fileRegistry(instances: readonly { name: string; url: string }[]): Promise<Registry> {
  const dir = await mkdtemp(join(tmpdir(), 'picket-demo-'));
  const file = join(dir, 'inventory.json');
  await writeFile(
    file,
    `${JSON.stringify(
      instances.map((i) => ({ id: i.name, url: i.url })),
      null,
      2,
    )}\n`,
  );
  return {
    description: `file ${file}`,
    env: { INVENTORY_FILE: file },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A real etcd on loopback ports with a temp data dir; instances register themselves in it. */
export async function etcdRegistry(): Promise<Registry> {
  // The test suite's launcher: `etcd` as a one-member cluster on free loopback ports.
  const { startEtcd } = await import('../../test/servers/etcd.ts');
  const server = await startEtcd();
  return {
    description: `etcd ${server.endpoint} /services/inventory/`,
    env: { ETCD_ENDPOINT: server.endpoint, ETCD_PREFIX: '/services/inventory/' },
    close: () => server.close(),
  };
}

export type ProcessState = 'starting' | 'up' | 'killed' | 'hung' | 'draining' | 'exited';

export class Instance {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  state: ProcessState = 'exited';
  #child: ChildProcess | undefined;

  constructor(name: string, port: number) {
    this.name = name;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
  }

  async start(registry: Registry): Promise<void> {
    this.state = 'starting';
    const { child } = await launch<InventoryMessage>(
      'inventory.ts',
      { ...registry.env, INVENTORY_NAME: this.name, INVENTORY_PORT: String(this.port) },
      () => {},
    );
    this.#child = child;
    this.state = 'up';
    child.once('exit', () => {
      if (this.#child === child && this.state !== 'killed') this.state = 'exited';
    });
  }

  /** SIGKILL: a crash. Resolves when the process is gone. */
  async kill(): Promise<void> {
    this.state = 'killed';
    await this.#signal('SIGKILL');
  }

  /** SIGSTOP: the process hangs; its port still accepts connections but nothing answers. */
  hang(): void {
    this.state = 'hung';
    this.#child?.kill('SIGSTOP');
  }

  resume(): void {
    this.#child?.kill('SIGCONT');
    this.state = 'up';
  }

  /** SIGTERM: the instance drains and exits by itself. Resolves when it has exited. */
  async drain(): Promise<void> {
    this.state = 'draining';
    await this.#signal('SIGTERM');
    this.state = 'exited';
  }

  /** Sends `signal` and resolves when the process has exited. */
  #signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    return exited;
  }
}

export class Orders {
  readonly child: ChildProcess;
  readonly port: number;

  private constructor(child: ChildProcess, port: number) {
    this.child = child;
    this.port = port;
  }

  static async start(registry: Registry, onMessage: (message: OrdersMessage) => void): Promise<Orders> {
    const { child, first } = await launch<OrdersMessage>('orders.ts', registry.env, onMessage);
    return new Orders(child, first.type === 'listening' ? first.port : 0);
  }

  /** SIGTERM (orders closes its server and client), SIGKILL after 3 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}
