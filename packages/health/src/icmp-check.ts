// L3: an ICMP echo proves the host and the route to it answer, nothing about the service. Node
// cannot open raw sockets, so this runs the system `ping` (iputils), one process per check: fine
// for a handful of hosts, too costly for thousands every second (use tcpCheck there).

import { spawn } from 'node:child_process';
import { PicketError } from '@picket/core';
import { type Agrees, nonEmptyString, parseWith } from '@picket/core/internal';
import { z } from 'zod';
import type { CheckResult, HealthCheck } from './check.ts';
import { positiveMs } from './fields.ts';
import { abortWords, elapsed, formatMs, timeoutOf, withDeadline } from './util.ts';

export interface IcmpCheckOptions {
  /** How long to wait for the echo reply, ms; the checker's `timeout` applies as well. Default 2000. */
  timeout?: number;
  /** The ping program: a name looked up on PATH, or a path. Default `'ping'`. */
  pingPath?: string;
}

const schema = z.strictObject({
  timeout: positiveMs.default(2000),
  pingPath: nonEmptyString.default('ping'),
});

const MAX_OUTPUT = 4096;
const NOT_PERMITTED = /operation not permitted|permission denied|cap_net_raw|setuid/i;

function notPermitted(pingPath: string, detail: string): PicketError {
  return new PicketError(
    'PICKET_HEALTH_CHECK_FAILED',
    `icmpCheck: ${JSON.stringify(pingPath)} is not permitted to send ICMP echo (${detail}). ` +
      'Give ping the cap_net_raw capability (setcap cap_net_raw+ep "$(command -v ping)"), allow ' +
      "this process's group ICMP sockets (sysctl net.ipv4.ping_group_range), or use tcpCheck()",
    { details: { check: 'icmp', problem: 'not-permitted', pingPath } },
  );
}

function missing(pingPath: string, cause: unknown): PicketError {
  return new PicketError(
    'PICKET_HEALTH_CHECK_FAILED',
    `icmpCheck: cannot run ${JSON.stringify(pingPath)}: not found. Install ping from iputils ` +
      '(Debian/Ubuntu: apt-get install iputils-ping) or point `pingPath` at it',
    { cause, details: { check: 'icmp', problem: 'ping-missing', pingPath } },
  );
}

/** The RTT ping printed (`time=0.045 ms`), if any. */
function parseRtt(stdout: string): number | undefined {
  const match = /time[=<]\s*([\d.]+)\s*ms/.exec(stdout);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/**
 * ping's complaint without its `ping: ` prefix (`connect: Network is unreachable`): the first
 * line matching `pattern`, or the first line.
 */
function complaint(stderr: string, stdout: string, pattern?: RegExp): string {
  const lines = (stderr.trim() || stdout.trim()).split('\n');
  const line = (pattern === undefined ? undefined : lines.find((l) => pattern.test(l))) ?? lines[0] ?? '';
  return line.replace(/^[^:\s]*ping[^:]*:\s*/, '') || 'no output';
}

/** An L3 check: one ICMP echo request through the system `ping`. */
export function icmpCheck(options: IcmpCheckOptions = {}): HealthCheck {
  const o = parseWith(schema, options, 'Invalid icmpCheck options');
  // iputils takes whole seconds on older versions; the deadline below enforces the exact timeout.
  const waitSeconds = String(Math.max(1, Math.ceil(o.timeout / 1000)));
  // The C locale keeps ping's messages in the English this file parses.
  const env = { ...process.env, LC_ALL: 'C' };

  return {
    layer: 'l3',
    run(instance, signal): Promise<CheckResult> {
      const host = instance.host;
      const deadline = withDeadline(signal, o.timeout);
      const start = performance.now();
      return new Promise<CheckResult>((resolve, reject) => {
        let stdout = '';
        let stderr = '';
        let done = false;
        const settle = (): void => {
          done = true;
          deadline.signal.removeEventListener('abort', onAbort);
          deadline.dispose();
        };
        const fail = (reason: string): void => {
          resolve({ ok: false, layer: 'l3', reason: `l3: ${reason}`, latencyMs: elapsed(start) });
        };
        if (deadline.signal.aborted) {
          settle();
          fail(`${abortWords(deadline.signal)} waiting for an echo reply from ${host}`);
          return;
        }
        // `--` so that a host name can never be read as an option.
        const child = spawn(o.pingPath, ['-n', '-c', '1', '-W', waitSeconds, '--', host], {
          stdio: ['ignore', 'pipe', 'pipe'],
          env,
          windowsHide: true,
        });
        const onAbort = (): void => {
          if (done) return;
          settle();
          child.kill('SIGKILL');
          const waited = timeoutOf(deadline.signal);
          fail(
            waited === undefined
              ? `aborted waiting for an echo reply from ${host}`
              : `no echo reply from ${host} within ${waited} ms`,
          );
        };
        deadline.signal.addEventListener('abort', onAbort, { once: true });
        child.stdout.on('data', (chunk: Buffer) => {
          if (stdout.length < MAX_OUTPUT) stdout += chunk.toString('utf8');
        });
        child.stderr.on('data', (chunk: Buffer) => {
          if (stderr.length < MAX_OUTPUT) stderr += chunk.toString('utf8');
        });
        child.once('error', (error: NodeJS.ErrnoException) => {
          if (done) return;
          settle();
          if (error.code === 'ENOENT') reject(missing(o.pingPath, error));
          else if (error.code === 'EACCES' || error.code === 'EPERM')
            reject(notPermitted(o.pingPath, error.message));
          else fail(`could not run ${JSON.stringify(o.pingPath)}: ${error.message}`);
        });
        child.once('close', (code, killedBy) => {
          if (done) return;
          settle();
          if (code === 0) {
            const rtt = parseRtt(stdout);
            const latencyMs = rtt ?? elapsed(start);
            resolve({
              ok: true,
              layer: 'l3',
              reason: `l3: echo reply from ${host} in ${formatMs(latencyMs)}`,
              latencyMs,
            });
          } else if (code === 1) {
            fail(`no echo reply from ${host} within ${o.timeout} ms`);
          } else if (NOT_PERMITTED.test(stderr)) {
            reject(notPermitted(o.pingPath, complaint(stderr, stdout, NOT_PERMITTED)));
          } else if (code === null) {
            fail(`ping for ${host} was killed by ${killedBy ?? 'a signal'}`);
          } else {
            fail(`ping failed for ${host}: ${complaint(stderr, stdout)}`);
          }
        });
      });
    },
  };
}

// The documented options are the schema's input, field for field.
true satisfies Agrees<IcmpCheckOptions, z.input<typeof schema>>;
