// Keeps credentials out of error messages and events: registries echo requests back in their
// errors, and a token in a log line is a leaked token.

const MASK = '[redacted]';

/** Replaces every occurrence of each secret (3+ characters) in `text`, and any URL userinfo. */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s@]*@/gi, `$1${MASK}@`);
  for (const secret of secrets) {
    // Very short "secrets" would mask ordinary words and say nothing useful.
    if (secret !== undefined && secret.length >= 3) out = out.split(secret).join(MASK);
  }
  return out;
}

/**
 * A copy of a discovered record safe to put in an event: strings and every string inside an
 * object (URLs with userinfo, tokens) are redacted. A record that is not JSON becomes its kind.
 */
export function redactValue(value: unknown, secrets: readonly (string | undefined)[] = []): unknown {
  if (typeof value === 'string') return redact(value, secrets);
  if (value === null || typeof value !== 'object') return value;
  try {
    // Secrets are matched as they appear inside JSON strings (escaped).
    const escaped = secrets.map((secret) =>
      secret === undefined ? undefined : JSON.stringify(secret).slice(1, -1),
    );
    return JSON.parse(redact(JSON.stringify(value), escaped));
  } catch {
    return `[unserializable ${Array.isArray(value) ? 'array' : 'object'}]`;
  }
}

/**
 * A copy of `error` safe to attach as a `cause`: same name, code and message with secrets
 * masked, its own cause chain redacted too (bounded depth). Non-errors become their text.
 */
export function redactError(
  error: unknown,
  secrets: readonly (string | undefined)[] = [],
  depth = 0,
): unknown {
  if (!(error instanceof Error)) {
    return typeof error === 'string' ? redact(error, secrets) : error;
  }
  const safeMessage = redact(error.message, secrets);
  const cause =
    error.cause === undefined || depth >= 4 ? undefined : redactError(error.cause, secrets, depth + 1);
  if (safeMessage === error.message && cause === error.cause) return error;
  const copy = new Error(safeMessage, cause === undefined ? undefined : { cause });
  copy.name = error.name;
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) Object.defineProperty(copy, 'code', { value: code, enumerable: true });
  if (error.stack !== undefined) copy.stack = redact(error.stack, secrets);
  return copy;
}
