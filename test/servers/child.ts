// A server process for tests: output captured for readiness and diagnostics, stopped and reaped
// by stop(), and killed when the test process exits so that no server outlives its suite.

import { type ChildProcess, spawn } from 'node:child_process';

const live = new Set<ChildProcess>();
let hooked = false;

function killAllOnExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

const MAX_OUTPUT = 4 * 1024 * 1024;

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Captured stdout and stderr (the last 4 MiB). */
  output(): string;
  /** Total characters ever written, for `waitForOutput({ after })`. */
  outputLength(): number;
  /** Resolves when `pattern` appears in the output written after position `after` (default: now). */
  waitForOutput(pattern: RegExp, options?: { after?: number; timeoutMs?: number }): Promise<void>;
  /** True once the process has exited. */
  exited(): boolean;
  /** Resolves when the process has exited. */
  whenExited(): Promise<void>;
  /** Sends `signal` (default SIGTERM), escalates to SIGKILL after `timeoutMs`, and waits for exit. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
}

export function spawnServer(
  binary: string,
  args: readonly string[],
  label: string,
  options: { env?: Record<string, string> } = {},
): ServerProcess {
  killAllOnExit();
  const env = options.env === undefined ? process.env : { ...process.env, ...options.env };
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  live.add(child);
  let text = '';
  let dropped = 0;
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    text += chunk.toString('utf8');
    if (text.length > MAX_OUTPUT) {
      dropped += text.length - MAX_OUTPUT;
      text = text.slice(text.length - MAX_OUTPUT);
    }
    for (const waiter of waiters) waiter();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  let hasExited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      hasExited = true;
      live.delete(child);
      for (const waiter of waiters) waiter();
      resolve();
    });
    child.once('error', (error) => {
      text += `\nspawn error: ${error.message}\n`;
      hasExited = true;
      live.delete(child);
      for (const waiter of waiters) waiter();
      resolve();
    });
  });

  return {
    child,
    pid: child.pid ?? -1,
    output: () => text,
    outputLength: () => dropped + text.length,
    exited: () => hasExited,
    whenExited: () => exit,
    waitForOutput(pattern, options = {}) {
      const after = options.after ?? dropped + text.length;
      const timeoutMs = options.timeoutMs ?? 20_000;
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(text.slice(Math.max(0, after - dropped)))) {
            finish();
            resolve();
          } else if (hasExited) {
            finish();
            reject(new Error(`${label} exited before printing ${pattern}:\n${text.slice(-4000)}`));
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(
            new Error(`${label} did not print ${pattern} within ${timeoutMs} ms:\n${text.slice(-4000)}`),
          );
        }, timeoutMs);
        const finish = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM', timeoutMs = 10_000) {
      if (hasExited) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exit;
      clearTimeout(timer);
    },
  };
}
