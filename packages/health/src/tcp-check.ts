// L4: a TCP connect proves the port accepts connections (the process is up and listening), not
// that the service answers correctly. The socket is closed as soon as it connects.

import { connect } from 'node:net';
import { type Agrees, parseWith } from '@picket/core/internal';
import { z } from 'zod';
import type { CheckResult, HealthCheck } from './check.ts';
import { port, positiveMs } from './fields.ts';
import { abortWords, elapsed, formatMs, hostPort, networkWords, withDeadline } from './util.ts';

export interface TcpCheckOptions {
  /** Connect to this port instead of the instance's. Default: the instance's. */
  port?: number;
  /** The check's own deadline, ms; the checker's `timeout` applies as well. Default: only the checker's. */
  timeout?: number;
}

const schema = z.strictObject({
  port: port.optional(),
  timeout: positiveMs.optional(),
});

/** An L4 check: connects to the instance's port and closes at once. */
export function tcpCheck(options: TcpCheckOptions = {}): HealthCheck {
  const o = parseWith(schema, options, 'Invalid tcpCheck options');

  return {
    layer: 'l4',
    run(instance, signal): Promise<CheckResult> {
      const target = o.port ?? instance.port;
      const address = hostPort(instance.host, target);
      const deadline = withDeadline(signal, o.timeout);
      const start = performance.now();
      if (deadline.signal.aborted) {
        deadline.dispose();
        const reason = `l4: ${abortWords(deadline.signal)} connecting to ${address}`;
        return Promise.resolve({ ok: false, layer: 'l4', reason, latencyMs: 0 });
      }
      return new Promise((resolve) => {
        const socket = connect({ host: instance.host, port: target, noDelay: true });
        let done = false;
        const finish = (ok: boolean, words: string, timedOut: boolean): void => {
          if (done) return;
          done = true;
          socket.removeListener('connect', onConnect);
          deadline.signal.removeEventListener('abort', onAbort);
          deadline.dispose();
          // An error after this point (a reset while closing) has nobody to tell; onError stays
          // attached and ignores it.
          socket.destroy();
          const latencyMs = elapsed(start);
          const reason = ok
            ? `l4: connected to ${address} in ${formatMs(latencyMs)}`
            : `l4: ${words} connecting to ${address}${timedOut ? '' : ` in ${formatMs(latencyMs)}`}`;
          resolve({ ok, layer: 'l4', reason, latencyMs });
        };
        const onConnect = (): void => finish(true, '', false);
        const onError = (error: Error): void => finish(false, networkWords(error), false);
        const onAbort = (): void => finish(false, abortWords(deadline.signal), true);
        socket.once('connect', onConnect);
        socket.once('error', onError);
        deadline.signal.addEventListener('abort', onAbort, { once: true });
      });
    },
  };
}

// The documented options are the schema's input, field for field.
true satisfies Agrees<TcpCheckOptions, z.input<typeof schema>>;
