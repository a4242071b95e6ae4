// The connection of one ServiceRequest as axios and follow-redirects see it: `setTimeout` is
// idle time counted from the last byte moved (a body that keeps trickling in does not time out),
// and `destroy` loses the request or its response as a socket's end would.

import { EventEmitter } from 'node:events';

/** The request a socket stands for. */
export interface SocketOwner {
  connectionLost(error?: Error): void;
}

/** The connection as axios sees it: `setTimeout` is idle time, `destroy` loses the exchange. */
export class ServiceSocket extends EventEmitter {
  destroyed = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #request: SocketOwner;

  constructor(request: SocketOwner) {
    super();
    this.#request = request;
  }

  setTimeout(ms: number, callback?: () => void): this {
    if (callback !== undefined) this.once('timeout', callback);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = ms > 0 && !this.destroyed ? setTimeout(() => this.emit('timeout'), ms).unref() : undefined;
    return this;
  }

  /** A byte moved: the idle timer starts again. */
  activity(): void {
    this.#timer?.refresh();
  }

  setKeepAlive(): this {
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  destroy(error?: Error): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.release();
    this.#request.connectionLost(error);
    this.emit('close', error !== undefined);
    return this;
  }

  /** The exchange is over: no more timeouts. */
  release(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
