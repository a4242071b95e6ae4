// Test-only (not exported, not in the build's entries): a client whose instances' pools are
// fakes, so that the request state machine is driven by hand without sockets, as grpc-js tests
// its policies against a mock subchannel. Each dispatch to a fake pool is an Exchange on which
// the test plays undici's part (onRequestStart, onResponseStart, onResponseData, onResponseEnd,
// onResponseError), and a Recorder is the caller's handler.

import { Dispatcher } from 'undici';
import { type Client, createClient } from '../client.ts';
import type { ClientOptions } from '../options.ts';
import { InstancePool } from '../pool/pools.ts';

type Headers = Record<string, string | string[] | undefined>;

/** undici's controller for one exchange, as the attempt holds it. */
export class FakeController implements Dispatcher.DispatchController {
  aborted = false;
  paused = false;
  reason: Error | null = null;
  readonly rawHeaders = null;
  readonly rawTrailers = null;

  abort(reason: Error): void {
    this.aborted = true;
    this.reason = reason;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
}

/** One attempt handed to a fake pool. */
export class Exchange {
  readonly controller = new FakeController();
  #started = false;
  /** The instance's URL. */
  readonly url: string;
  readonly options: Dispatcher.DispatchOptions;
  readonly handler: Dispatcher.DispatchHandler;

  constructor(url: string, options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) {
    this.url = url;
    this.options = options;
    this.handler = handler;
  }

  /** A connection took the request: its bytes may reach the server from now on. */
  start(): this {
    if (!this.#started) this.handler.onRequestStart?.(this.controller, {});
    this.#started = true;
    return this;
  }

  headers(statusCode: number, headers: Headers = {}): this {
    this.start().handler.onResponseStart?.(this.controller, statusCode, headers as never, '');
    return this;
  }

  data(chunk: string): this {
    this.handler.onResponseData?.(this.controller, Buffer.from(chunk));
    return this;
  }

  end(): void {
    this.handler.onResponseEnd?.(this.controller, {});
  }

  /** A whole response. */
  respond(statusCode: number, body = '', headers: Headers = {}): void {
    this.headers(statusCode, headers);
    if (body !== '') this.data(body);
    this.end();
  }

  /** The exchange failed, as undici reports a transport error (or the abort it was asked for). */
  fail(error: Error): void {
    this.handler.onResponseError?.(this.controller, error);
  }

  /** undici ends an aborted exchange with its reason: what follows `controller.abort()`. */
  settleAbort(): void {
    if (this.controller.aborted) this.fail(this.controller.reason!);
  }
}

/** A transport error as undici raises it (`code` decides its kind). */
export function transportError(code = 'UND_ERR_SOCKET'): Error {
  return Object.assign(new Error(`fake ${code}`), { code });
}

class FakePool extends Dispatcher {
  readonly #url: string;
  readonly #sent: Exchange[];

  constructor(url: string, sent: Exchange[]) {
    super();
    this.#url = url;
    this.#sent = sent;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    this.#sent.push(new Exchange(this.#url, options, handler));
    return true;
  }
}

/** The caller's handler: what the caller was given. */
export class Recorder implements Dispatcher.DispatchHandler {
  controller: Dispatcher.DispatchController | null = null;
  statusCode = 0;
  body = '';
  ended = false;
  error: (Error & { code?: string; details?: Record<string, unknown> }) | null = null;

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
  }
  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number): void {
    this.statusCode = statusCode;
  }
  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.body += chunk.toString();
  }
  onResponseEnd(): void {
    this.ended = true;
  }
  onResponseError(_c: Dispatcher.DispatchController | null, error: Error): void {
    this.error = error;
  }
}

export interface FakeClient {
  readonly client: Client;
  /** Every exchange sent, in order. */
  readonly sent: Exchange[];
  /** Dispatches one request; the returned recorder is the caller's view of it. */
  call(options?: Partial<Dispatcher.DispatchOptions> & { timeout?: number }): Recorder;
}

/** `count` instances (http://10.0.0.1:8080, …), every pool a fake; other options as given. */
export function fakeClient(count: number, options: Partial<ClientOptions> = {}): FakeClient {
  const urls = Array.from({ length: count }, (_, i) => `http://10.0.0.${i + 1}:8080`);
  const client = createClient({ service: 'fake', discovery: urls, ...options });
  const sent: Exchange[] = [];
  const slots = new Map<string, InstancePool>();
  const pools = (client as unknown as { pools: { slot(i: { id: string; url: string }): InstancePool } })
    .pools;
  pools.slot = (instance) => {
    let slot = slots.get(instance.id);
    if (slot === undefined) {
      slot = new InstancePool(new FakePool(instance.url, sent) as never, instance.url);
      slots.set(instance.id, slot);
    }
    return slot;
  };
  return {
    client,
    sent,
    call(extra = {}) {
      const recorder = new Recorder();
      const dispatch = { origin: 'http://fake', path: '/', method: 'GET', ...extra };
      client.dispatcher.dispatch(dispatch as Dispatcher.DispatchOptions, recorder);
      return recorder;
    },
  };
}
