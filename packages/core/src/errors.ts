// Picket's one error type. Every failure a user can act on carries a stable `code`; `isPicketError`
// works across two installed copies of the package because it checks a global symbol, not a class.

const MARK = Symbol.for('picket.error');

export const ErrorCode = {
  INVALID_OPTIONS: 'PICKET_INVALID_OPTIONS',
  INVALID_INSTANCE: 'PICKET_INVALID_INSTANCE',
  NO_INSTANCES: 'PICKET_NO_INSTANCES',
  NO_AVAILABLE_INSTANCE: 'PICKET_NO_AVAILABLE_INSTANCE',
  ATTEMPTS_EXHAUSTED: 'PICKET_ATTEMPTS_EXHAUSTED',
  TIMEOUT: 'PICKET_TIMEOUT',
  CLIENT_CLOSED: 'PICKET_CLIENT_CLOSED',
  BALANCER_CLOSED: 'PICKET_BALANCER_CLOSED',
  DISCOVERY_FAILED: 'PICKET_DISCOVERY_FAILED',
  HEALTH_CHECK_FAILED: 'PICKET_HEALTH_CHECK_FAILED',
  ABORTED: 'PICKET_ABORTED',
  HANDLER_FAILED: 'PICKET_HANDLER_FAILED',
  INVALID_REQUEST: 'PICKET_INVALID_REQUEST',
  OVERLOADED: 'PICKET_OVERLOADED',
  /** A server Picket starts (the dashboard) cannot listen: its port is taken. */
  ADDRESS_IN_USE: 'PICKET_ADDRESS_IN_USE',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface PicketErrorOptions {
  cause?: unknown;
  /** Extra, code-specific facts (for example `attempts`). Never holds credentials. */
  details?: Record<string, unknown>;
}

export class PicketError extends Error {
  readonly code: ErrorCode;
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

/** True for any Picket error, from this copy of the package or another. */
export function isPicketError(value: unknown, code?: ErrorCode): value is PicketError {
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
