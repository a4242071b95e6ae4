// What Node's http would have emitted on a ClientRequest for a failure Picket reports: axios's
// Node adapter, and everything written against it (axios-retry, error handlers), branch on the
// socket error's `code` (ECONNREFUSED, ECONNRESET, ENOTFOUND), never on Picket's. The Picket
// error, with every attempt, rides along to become the AxiosError's `cause`.

import { isPicketError } from '@picket/core';

const kPicket = Symbol('picket.axios.error');

// undici's words for a connection lost before or during the response; Node says it this way.
const HANG_UP_CODES = new Set(['UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNRESET', 'EPIPE']);

function underlying(error: unknown): Error | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && !code.startsWith('PICKET_')) return current;
    current = current.cause;
  }
  return undefined;
}

/** Node's `socket hang up` (ECONNRESET), or its `aborted` for a response cut short. */
export function connectionReset(message: 'socket hang up' | 'aborted'): Error {
  return Object.assign(new Error(message), { code: 'ECONNRESET' });
}

/**
 * The error a ClientRequest would emit for `error`, a failure of `client.request`: the socket
 * error underneath Picket's (a copy: the original stays in Picket's error), or Picket's own when
 * there is none (no instance available, the client closed, its timeout). Either way it carries
 * Picket's error for `picketCause`.
 */
export function requestError(error: unknown): Error {
  // The client's own timeout is axios's timeout, whatever the attempts met on the way.
  const cause = isPicketError(error, 'PICKET_TIMEOUT') ? undefined : underlying(error);
  let out: Error;
  if (cause === undefined) {
    out = error instanceof Error ? error : new Error(String(error));
    if (!isPicketError(out)) return out;
  } else {
    const code = (cause as unknown as { code: string }).code;
    out = HANG_UP_CODES.has(code) ? connectionReset('socket hang up') : copyError(cause);
  }
  Object.defineProperty(out, kPicket, { value: error, enumerable: false, configurable: true });
  return out;
}

function copyError(source: Error): Error {
  const copy = new Error(source.message);
  if (source.name !== 'Error') copy.name = source.name;
  for (const key of ['code', 'errno', 'syscall', 'address', 'port', 'hostname'] as const) {
    const value = (source as unknown as Record<string, unknown>)[key];
    if (value !== undefined) (copy as unknown as Record<string, unknown>)[key] = value;
  }
  return copy;
}

/** The Picket error behind a request error made by `requestError`, if any. */
export function picketCause(error: unknown): unknown {
  return error !== null && typeof error === 'object'
    ? (error as { [kPicket]?: unknown })[kPicket]
    : undefined;
}
