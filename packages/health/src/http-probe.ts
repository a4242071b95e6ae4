// One HTTP request to one instance for a check: what came back (status, a bounded body) or why
// nothing did, in words. httpCheck and loadCheck judge the outcome; this only fetches it.

import type { Instance } from '@picket/core';
import type { Dispatcher } from 'undici';
import type { CheckPool } from './http-pool.ts';
import { abortWords, elapsed, hostPort, networkWords } from './util.ts';

export interface ProbeRequest {
  path: string;
  port: number | undefined;
  method: string;
  headers: Readonly<Record<string, string>>;
  /** Read the body (as text, at most `maxBodyBytes`); otherwise it is discarded. */
  readBody: boolean;
  maxBodyBytes: number;
}

export type ProbeOutcome =
  | { kind: 'response'; status: number; body: string | undefined; tooLarge: boolean; latencyMs: number }
  | { kind: 'failed'; words: string; latencyMs: number };

/** Request headers with Picket's user agent unless the caller set one. */
export function probeHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = { 'user-agent': 'picket-health' };
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value;
  return out;
}

/** The origin a check talks to: the instance's own, or the same host on `port`. */
export function probeOrigin(instance: Instance, port: number | undefined): string {
  if (port === undefined || port === instance.port) return instance.origin;
  return `${instance.secure ? 'https' : 'http'}://${hostPort(instance.host, port)}`;
}

/** `host:port` the check talks to, for reasons. */
export function probeAddress(instance: Instance, port: number | undefined): string {
  return hostPort(instance.host, port ?? instance.port);
}

/**
 * One request's callbacks from undici. The low-level dispatch API is used instead of
 * `request()` because a check needs no body stream, no async-resource bookkeeping and no
 * promise per stage: at 1,000 checks a second that overhead was a tenth of the checker's CPU.
 */
class ProbeHandler implements Dispatcher.DispatchHandler {
  readonly #request: ProbeRequest;
  readonly #signal: AbortSignal;
  readonly #resolve: (outcome: ProbeOutcome) => void;
  readonly #start = performance.now();
  #controller: Dispatcher.DispatchController | undefined;
  #status = 0;
  #chunks: Buffer[] = [];
  #size = 0;
  #tooLarge = false;
  #done = false;

  constructor(request: ProbeRequest, signal: AbortSignal, resolve: (outcome: ProbeOutcome) => void) {
    this.#request = request;
    this.#signal = signal;
    this.#resolve = resolve;
    signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  readonly #onAbort = (): void => {
    // Answer first: undici reports the aborted request (synchronously, as an error), and that
    // report must not replace the reason.
    this.#finish({ kind: 'failed', words: abortWords(this.#signal), latencyMs: elapsed(this.#start) });
    this.#controller?.abort(this.#signal.reason as Error);
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    // A request queued behind a connect can only be stopped once it starts.
    if (this.#done) controller.abort(this.#signal.reason as Error);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.#status = statusCode;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#size += chunk.length;
    if (this.#size > this.#request.maxBodyBytes) {
      this.#tooLarge = true;
      controller.abort(new Error('response body too large for a health check'));
      return;
    }
    if (this.#request.readBody) this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.#respond();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#tooLarge) this.#respond();
    else this.#finish({ kind: 'failed', words: networkWords(error), latencyMs: elapsed(this.#start) });
  }

  #respond(): void {
    const body =
      this.#request.readBody && !this.#tooLarge ? Buffer.concat(this.#chunks).toString('utf8') : undefined;
    this.#finish({
      kind: 'response',
      status: this.#status,
      body,
      tooLarge: this.#tooLarge,
      latencyMs: elapsed(this.#start),
    });
  }

  #finish(outcome: ProbeOutcome): void {
    if (this.#done) return;
    this.#done = true;
    this.#signal.removeEventListener('abort', this.#onAbort);
    this.#resolve(outcome);
  }
}

export function probe(
  pool: CheckPool,
  instance: Instance,
  request: ProbeRequest,
  signal: AbortSignal,
): Promise<ProbeOutcome> {
  if (signal.aborted) return Promise.resolve({ kind: 'failed', words: abortWords(signal), latencyMs: 0 });
  const origin = probeOrigin(instance, request.port);
  const client = pool.acquire(origin);
  return new Promise<ProbeOutcome>((resolve) => {
    const handler = new ProbeHandler(request, signal, (outcome) => {
      pool.release();
      resolve(outcome);
    });
    try {
      client.dispatch(
        {
          origin,
          path: instance.basePath + request.path,
          method: request.method as Dispatcher.HttpMethod,
          headers: request.headers,
        },
        handler,
      );
    } catch (error) {
      handler.onResponseError(undefined as never, error as Error);
    }
  });
}
