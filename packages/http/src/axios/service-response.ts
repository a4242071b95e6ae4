// The response of a ServiceRequest, shaped as Node's IncomingMessage where axios's Node adapter
// and follow-redirects read it: statusCode, statusMessage, headers folded by Node's rules, `req`,
// and `aborted` then ECONNRESET when the connection is lost mid-body. Destroying it, for any
// reason (a decoder failing, maxContentLength, the caller), destroys undici's body underneath,
// which ends the attempt and frees its connection.

import type { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { connectionReset } from './node-errors.ts';

// Node keeps the first of these when a response repeats them (IncomingMessage#_addHeaderLine).
const FIRST_WINS = new Set([
  'content-type',
  'content-length',
  'user-agent',
  'referer',
  'host',
  'authorization',
  'proxy-authorization',
  'if-modified-since',
  'if-unmodified-since',
  'from',
  'location',
  'max-forwards',
  'retry-after',
  'etag',
  'last-modified',
  'server',
  'age',
  'expires',
]);

const LOST_CODES = new Set(['UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_ABORTED']);

type RawHeaders = Record<string, string | string[] | undefined>;

/** undici's response headers (a repeated header is an array) as Node's `res.headers` holds them. */
function nodeHeaders(headers: RawHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (!Array.isArray(value)) out[name] = name === 'set-cookie' ? [value] : value;
    else if (name === 'set-cookie') out[name] = value;
    else if (FIRST_WINS.has(name)) out[name] = value[0] ?? '';
    else out[name] = value.join(name === 'cookie' ? '; ' : ', ');
  }
  return out;
}

/** Told of every chunk, as a socket's idle timer is. */
interface Activity {
  activity(): void;
}

export class ServiceResponse extends Readable {
  readonly statusCode: number;
  readonly statusMessage: string;
  readonly headers: Record<string, string | string[]>;
  readonly rawHeaders: string[];
  readonly trailers: Record<string, string> = {};
  readonly httpVersion = '1.1';
  readonly httpVersionMajor = 1;
  readonly httpVersionMinor = 1;
  readonly req: EventEmitter;
  readonly socket: Activity;
  complete = false;
  aborted = false;
  /** Set by follow-redirects on the last response of a chain. */
  responseUrl?: string;
  readonly #body: Readable;

  constructor(data: Dispatcher.ResponseData, req: EventEmitter, socket: Activity) {
    super();
    this.statusCode = data.statusCode;
    this.statusMessage = (data as { statusText?: string }).statusText ?? '';
    this.headers = nodeHeaders(data.headers);
    this.rawHeaders = Object.entries(this.headers).flatMap(([name, value]) =>
      Array.isArray(value) ? value.flatMap((v) => [name, v]) : [name, value],
    );
    this.req = req;
    this.socket = socket;
    const body = data.body;
    this.#body = body;
    body.on('data', (chunk: Buffer) => {
      socket.activity();
      if (!this.push(chunk)) body.pause();
    });
    body.pause();
    body.once('end', () => {
      this.complete = true;
      this.push(null);
    });
    body.once('error', (error: Error) => {
      const code = (error as { code?: unknown }).code;
      // An AbortError is the request's own abort: its socket was destroyed (an idle timeout).
      if ((typeof code === 'string' && LOST_CODES.has(code)) || error.name === 'AbortError') this.lost();
      else this.destroy(error);
    });
  }

  override _read(): void {
    this.#body.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.#body.destroyed) this.#body.destroy();
    callback(error);
  }

  /** The connection went away before the body ended: Node's `aborted`, then ECONNRESET. */
  lost(): void {
    if (this.complete || this.destroyed) return;
    this.aborted = true;
    this.emit('aborted');
    this.destroy(connectionReset('aborted'));
  }
}
