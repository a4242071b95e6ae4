// The lifecycle shared by registrars that keep a registration alive by renewing it on an interval
// (Consul's TTL check, Eureka's heartbeat): register, renew, register again when the registry has
// forgotten us, back off on failures, and deregister on close().

import { PicketError } from '@picket/core';
import { Emitter, messageOf } from '@picket/core/internal';
import type { Backoff } from './backoff.ts';
import { sleepUnlessAborted } from './base.ts';
import { redact, redactError } from './redact.ts';
import type { Registrar, RegistrarEvents } from './registrar.ts';

export interface KeepAliveSpec {
  /** Without credentials. */
  name: string;
  /** Values masked in every error message. */
  secrets?: () => readonly (string | undefined)[];
  /** Time between renewals, ms. */
  intervalMs: number;
  backoff: Backoff;
  /** Longest wait for the deregistration on close(), ms. */
  deregisterTimeoutMs: number;
  /** Puts the registration in place; throws on failure. */
  register(signal: AbortSignal): Promise<void>;
  /** Renews; resolves false when the registry no longer knows the registration. */
  renew(signal: AbortSignal): Promise<boolean>;
  /** Removes the registration. */
  deregister(signal: AbortSignal): Promise<void>;
  /** Releases sockets, after the deregistration. */
  dispose(): Promise<void>;
}

/** Builds a Registrar around `spec`. The constructor does no I/O; start() begins it. */
export function createKeepAliveRegistrar(spec: KeepAliveSpec): Registrar {
  const emitter = new Emitter<RegistrarEvents>();
  const abort = new AbortController();
  let isRegistered = false;
  // Once a registration request has been sent, close() must try to remove it: the registry may
  // have accepted it even if the answer never arrived.
  let attempted = false;
  let started: Promise<void> | undefined;
  let loop: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  let settleFirst: ((error?: Error) => void) | undefined;

  const fail = (error: unknown, what: string) => {
    const secrets = spec.secrets?.() ?? [];
    const message = messageOf(error);
    const safe = new PicketError(
      'PICKET_DISCOVERY_FAILED',
      redact(`${spec.name}: ${what}: ${message}`, secrets),
      {
        cause: redactError(error, secrets),
        details: { registrar: spec.name },
      },
    );
    emitter.emit('registration-error', { error: safe, registrar: spec.name });
  };

  const sleep = (ms: number) => sleepUnlessAborted(ms, abort.signal);

  const run = async () => {
    const { signal } = abort;
    while (!signal.aborted) {
      if (!isRegistered) {
        try {
          attempted = true;
          await spec.register(signal);
          isRegistered = true;
          spec.backoff.reset();
          emitter.emit('registered', { registrar: spec.name });
          settleFirst?.();
          settleFirst = undefined;
        } catch (error) {
          if (signal.aborted) return;
          fail(error, 'registration failed');
          if (!(await sleep(spec.backoff.next()))) return;
          continue;
        }
      }
      if (!(await sleep(spec.intervalMs))) return;
      // Renewals retry on the backoff, but never later than the renewal interval: the
      // registration lapses if the registry hears nothing for a whole TTL or lease.
      while (!signal.aborted) {
        try {
          const known = await spec.renew(signal);
          spec.backoff.reset();
          if (!known) isRegistered = false;
          break;
        } catch (error) {
          if (signal.aborted) return;
          fail(error, 'keep-alive failed');
          if (!(await sleep(Math.min(spec.backoff.next(), spec.intervalMs)))) return;
        }
      }
    }
  };

  return {
    name: spec.name,
    start() {
      if (started !== undefined) return started;
      if (closing !== undefined) {
        started = Promise.reject(new PicketError('PICKET_ABORTED', `${spec.name}: closed before it started`));
        return started;
      }
      started = new Promise<void>((resolve, reject) => {
        settleFirst = (error) => (error === undefined ? resolve() : reject(error));
      });
      // Marked handled here so that a caller who never awaits start() gets no unhandled
      // rejection when close() comes first; callers who await it still see the rejection.
      started.catch(() => {});
      loop = run();
      return started;
    },
    registered: () => isRegistered,
    on: (event, fn) => emitter.on(event, fn),
    close() {
      closing ??= (async () => {
        abort.abort();
        await loop;
        settleFirst?.(
          new PicketError('PICKET_ABORTED', `${spec.name}: closed before the first registration`),
        );
        settleFirst = undefined;
        if (attempted) {
          const limit = new AbortController();
          const timer = setTimeout(
            () => limit.abort(new Error(`no answer within ${spec.deregisterTimeoutMs} ms`)),
            spec.deregisterTimeoutMs,
          );
          try {
            await spec.deregister(limit.signal);
          } catch (error) {
            // Best effort: the TTL or lease removes a registration we could not.
            fail(error, 'deregistration failed');
          } finally {
            clearTimeout(timer);
          }
        }
        isRegistered = false;
        await spec.dispose();
        emitter.clear();
      })();
      return closing;
    },
  };
}
