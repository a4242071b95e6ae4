// Runs repository scripts in a child Node process (the Node 24 from node_modules/.bin, resolving
// `picket` to sources), captures their output, and kills whatever is still running in afterAll.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LOCAL_NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
export const NODE = existsSync(LOCAL_NODE) ? LOCAL_NODE : process.execPath;

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when `pattern` appears on stdout; rejects if the process exits first or at the deadline. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves when the process has exited; kills it (SIGKILL) and rejects at the deadline. */
  exited(timeoutMs?: number): Promise<Finished>;
}

const live = new Set<ChildProcess>();

/** Kills every process started here that is still running (for afterAll). */
export function killStarted(): void {
  for (const child of live) {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
  live.clear();
}

/** Starts `node --conditions=picket-source …args` in the repository root. */
export function startNode(args: readonly string[], env: Record<string, string> = {}): Running {
  const child = spawn(NODE, ['--conditions=picket-source', ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
    for (const wake of waiters) wake();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  const done = new Promise<Finished>((resolve) => {
    child.once('close', (code, signal) => {
      live.delete(child);
      for (const wake of waiters) wake();
      resolve({ code, signal, stdout: out, stderr: err });
    });
  });
  let finished = false;
  void done.then(() => {
    finished = true;
  });
  const describe = () =>
    `node ${args.join(' ')}\n--- stdout ---\n${out.slice(-6000)}\n--- stderr ---\n${err.slice(-4000)}`;
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitForOutput(pattern, timeoutMs = 30_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(out)) finish(undefined);
          else if (finished) finish(new Error(`exited before printing ${pattern}: ${describe()}`));
        };
        const timer = setTimeout(
          () => finish(new Error(`did not print ${pattern} within ${timeoutMs} ms: ${describe()}`)),
          timeoutMs,
        );
        const finish = (error: Error | undefined) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (error === undefined) resolve();
          else reject(error);
        };
        waiters.add(check);
        check();
      });
    },
    async exited(timeoutMs = 60_000) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`did not exit within ${timeoutMs} ms: ${describe()}`));
        }, timeoutMs);
      });
      try {
        return await Promise.race([done, deadline]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Runs a script to the end (killed at the deadline). */
export function runNode(
  args: readonly string[],
  options: { timeoutMs?: number; env?: Record<string, string> } = {},
) {
  return startNode(args, options.env).exited(options.timeoutMs);
}

/** Runs the `picket` CLI from sources. */
export function runCli(args: readonly string[], timeoutMs = 30_000): Promise<Finished> {
  return runNode(['src/cli.ts', ...args], { timeoutMs });
}

/** Process ids whose command line mentions `text` (Linux /proc; empty elsewhere). */
export function processesMentioning(text: string): number[] {
  if (!existsSync('/proc')) return [];
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}
