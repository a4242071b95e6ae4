// Waiting on conditions in integration tests: poll with a deadline, never a bare sleep.

export interface WaitOptions {
  /** Give up after this long, ms. Default 20000 (the machines are slow and noisy). */
  timeoutMs?: number;
  /** Poll interval, ms. Default 25. */
  intervalMs?: number;
  /** Said in the error when the deadline passes. */
  message?: string;
}

/** Resolves with the first truthy value `check` returns (sync or async); throws at the deadline. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  options: WaitOptions = {},
): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`${options.message ?? 'Condition not met'} within ${timeoutMs} ms${reason}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 25));
  }
}
