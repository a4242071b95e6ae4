// createAgent: one dispatcher for a whole process. `http://<service>/…` goes to that service's
// client (as Spring's @LoadBalanced resolves service names); any other origin goes to a plain
// undici Agent. With `setGlobalDispatcher(agent)`, undici's fetch and Node's built-in fetch both
// become load-balanced for the named services.

import { PicketError } from '@picket/core';
import { describeValue } from '@picket/core/internal';
import { Agent, Dispatcher, Dispatcher1Wrapper } from 'undici';
import type { Client } from './client.ts';
import { unknownOptionsError } from './errors.ts';

type WrapHandler = (handler: unknown) => Dispatcher.DispatchHandler;
const wrapLegacy = (Dispatcher1Wrapper as unknown as { wrapHandler: WrapHandler }).wrapHandler;

export interface AgentOptions {
  /** Clients by host name (`{ inventory: client }`), or a list keyed by each client's `service`. */
  services:
    | Readonly<Record<string, Pick<Client, 'dispatcher'>>>
    | readonly Pick<Client, 'dispatcher' | 'service'>[];
  /** Where other origins go. Default a new undici `Agent` (closed with this agent). */
  fallback?: Dispatcher;
}

const AGENT_KEYS: ReadonlySet<string> = new Set(['services', 'fallback'] satisfies (keyof AgentOptions)[]);

// Host of a dispatch origin: `http://inventory:8080` → `inventory`, lowercased.
function hostOf(origin: unknown): string | undefined {
  if (typeof origin !== 'string') return origin instanceof URL ? origin.hostname.toLowerCase() : undefined;
  const start = origin.indexOf('://');
  if (start < 0) return undefined;
  let end = origin.length;
  for (let i = start + 3; i < origin.length; i++) {
    const c = origin.charCodeAt(i);
    // '/', '?', '#', and ':' (port) end the host; IPv6 literals are never service names.
    if (c === 47 || c === 63 || c === 35 || c === 58) {
      end = i;
      break;
    }
  }
  return origin.slice(start + 3, end).toLowerCase();
}

/**
 * The dispatcher `createAgent()` returns: give it to `setGlobalDispatcher` or to undici's
 * `fetch`/`request` as `dispatcher`. Its `close()` closes the fallback it made, not the clients.
 */
export class PicketAgent extends Dispatcher {
  readonly #routes = new Map<string, Dispatcher>();
  readonly #fallback: Dispatcher;
  readonly #ownsFallback: boolean;
  #closed = false;

  constructor(options: AgentOptions) {
    super();
    const services = options.services;
    const entries: Array<[string, Pick<Client, 'dispatcher'>]> = Array.isArray(services)
      ? services.map((c) => [c.service, c])
      : Object.entries(services);
    for (const [name, client] of entries) {
      if (typeof name !== 'string' || name === '' || typeof client?.dispatcher?.dispatch !== 'function') {
        throw new PicketError(
          'PICKET_INVALID_OPTIONS',
          `Invalid agent options: \`services.${String(name)}\` must be a Picket client, got ${typeof client}`,
        );
      }
      this.#routes.set(name.toLowerCase(), client.dispatcher);
    }
    this.#ownsFallback = options.fallback === undefined;
    this.#fallback = options.fallback ?? new Agent();
  }

  /** Sends a request to its host's client, or to the fallback for any other origin. */
  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const usable = options !== null && typeof options === 'object';
    if (typeof handler?.onRequestStart !== 'function') {
      // An older-interface caller (Node's built-in fetch): HTTP/1.1 only, as Dispatcher1Wrapper does.
      handler = wrapLegacy(handler);
      if (usable && (options as { allowH2?: boolean }).allowH2 !== false)
        options = { ...options, allowH2: false } as never;
    }
    // Options that are not an object go to the fallback, which refuses them as undici does.
    const host = usable ? hostOf(options.origin) : undefined;
    const target = (host === undefined ? undefined : this.#routes.get(host)) ?? this.#fallback;
    return target.dispatch(options, handler);
  }

  /** Closes the fallback this agent made (not one given, nor the clients: they are yours). Idempotent. */
  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const done = this.#closed || !this.#ownsFallback ? Promise.resolve() : this.#fallback.close();
    this.#closed = true;
    if (callback === undefined) return done;
    done.then(callback, callback);
  }

  /** As `close()`, failing the fallback's requests in flight. */
  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: unknown, b?: () => void): Promise<void> | void {
    const callback = typeof a === 'function' ? (a as () => void) : b;
    const done = this.#ownsFallback ? this.#fallback.destroy() : Promise.resolve();
    this.#closed = true;
    if (callback === undefined) return done;
    done.then(callback, callback);
  }
}

/**
 * One dispatcher routing `http://<service>/…` to that service's client and anything else to a
 * plain undici Agent. Closing it closes the fallback it made, not the clients: they are yours.
 */
export function createAgent(options: AgentOptions): PicketAgent {
  if (options === null || typeof options !== 'object' || options.services === undefined) {
    throw new PicketError('PICKET_INVALID_OPTIONS', 'Invalid agent options: `services` is required');
  }
  if (options.services === null || typeof options.services !== 'object') {
    throw new PicketError(
      'PICKET_INVALID_OPTIONS',
      `Invalid agent options: \`services\` must be an object of clients by host name or a list of clients, got ${describeValue(options.services)}`,
    );
  }
  const unknown = unknownOptionsError('Invalid agent options', options, AGENT_KEYS);
  if (unknown !== undefined) throw unknown;
  const fallback: unknown = options.fallback;
  if (fallback !== undefined && typeof (fallback as Dispatcher | null)?.dispatch !== 'function') {
    throw new PicketError(
      'PICKET_INVALID_OPTIONS',
      `Invalid agent options: \`fallback\` must be an undici Dispatcher (such as an Agent), got ${describeValue(fallback)}`,
    );
  }
  return new PicketAgent(options);
}
