// Picket's one error type. Every failure a user can act on carries a stable `code`; `isPicketError`
// works across two installed copies of the package because it checks a global symbol, not a class.

const MARK = Symbol.for('picket.error');

/** The stable `code` of every PicketError; compare against these, never against message text. */
export const ErrorCode = {
  /** An option is invalid; the message names its path and the value given. */
  INVALID_OPTIONS: 'PICKET_INVALID_OPTIONS',
  /** An instance record is invalid; the message names its index, the field and the value. */
  INVALID_INSTANCE: 'PICKET_INVALID_INSTANCE',
  /** The balancer holds no instance: discovery has not provided any (yet). */
  NO_INSTANCES: 'PICKET_NO_INSTANCES',
  /** Instances are known, but none can be picked (all unhealthy, ejected, excluded or refused). */
  NO_AVAILABLE_INSTANCE: 'PICKET_NO_AVAILABLE_INSTANCE',
  /** Every attempt a call may make failed; `details.attempts` lists them. */
  ATTEMPTS_EXHAUSTED: 'PICKET_ATTEMPTS_EXHAUSTED',
  /** A deadline passed: the client's `timeout`, `perTryTimeout`, or `ready()`'s `timeoutMs`. */
  TIMEOUT: 'PICKET_TIMEOUT',
  /** The client was closed before or while the call ran. */
  CLIENT_CLOSED: 'PICKET_CLIENT_CLOSED',
  /** The balancer was closed: it takes no more picks. */
  BALANCER_CLOSED: 'PICKET_BALANCER_CLOSED',
  /** A discovery provider or registrar failed; the last good snapshot stays in force. */
  DISCOVERY_FAILED: 'PICKET_DISCOVERY_FAILED',
  /** A health check could not run, or a load report was invalid. */
  HEALTH_CHECK_FAILED: 'PICKET_HEALTH_CHECK_FAILED',
  /** Work was cancelled: the caller's signal aborted, or its owner closed first. */
  ABORTED: 'PICKET_ABORTED',
  /** A callback the caller gave (an undici dispatch handler's) threw; `details.callback` names it. */
  HANDLER_FAILED: 'PICKET_HANDLER_FAILED',
  /** The request itself is one Picket cannot send (a header value, a body); nothing was sent. */
  INVALID_REQUEST: 'PICKET_INVALID_REQUEST',
  /** A limit (`limits.*`) is reached: the call is refused at once instead of queueing. */
  OVERLOADED: 'PICKET_OVERLOADED',
  /** A server Picket starts (the dashboard) cannot listen: its port is taken. */
  ADDRESS_IN_USE: 'PICKET_ADDRESS_IN_USE',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface PicketErrorOptions {
  /** What went wrong underneath (a socket error, a provider's failure), as `Error.cause`. */
  cause?: unknown;
  /** Extra, code-specific facts (for example `attempts`). Never holds credentials. */
  details?: Record<string, unknown>;
}

/**
 * Every error Picket throws or rejects with: a stable `code`, a message naming what was wrong and
 * the value, and `cause`. `instanceof` and `isPicketError` recognise one from another installed
 * copy of the package as well.
 */
export class PicketError extends Error {
  /** What kind of failure this is (`PICKET_TIMEOUT`, …): see `ErrorCode`. */
  readonly code: ErrorCode;
  /** Extra, code-specific facts (for example `attempts`); `{}` when there are none. */
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: PicketErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PicketError';
    this.code = code;
    this.details = options.details ?? {};
    Object.defineProperty(this, MARK, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return isPicketError(value);
  }
}

/**
 * True for any Picket error, from this copy of the package or another; with `code`, only for one
 * with that code, whose `code` the type then narrows to it.
 */
export function isPicketError<C extends ErrorCode = ErrorCode>(
  value: unknown,
  code?: C,
): value is PicketError & { readonly code: C } {
  if (typeof value !== 'object' || value === null || (value as Record<symbol, unknown>)[MARK] !== true) {
    return false;
  }
  return code === undefined || (value as PicketError).code === code;
}

/** The message of anything thrown: an Error's message, else the value as a string. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Renders a value for an error message: short, and never the whole of a large object. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'bigint') return `${value}n`;
  // JSON would print NaN and Infinity as null.
  if (typeof value === 'number') return String(value);
  if (value === undefined) return 'undefined';
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return String(value);
    return text.length > 200 ? `${text.slice(0, 200)}…` : text;
  } catch {
    return Object.prototype.toString.call(value);
  }
}
