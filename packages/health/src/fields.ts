// Zod fields the check factories share, with messages in Picket's style (`must be …`).

import { z } from 'zod';

// Node turns a longer timer delay into 1 ms (TimeoutOverflowWarning): a typo would then check
// or time out continuously instead of rarely.
const MAX_TIMER_MS = 2 ** 31 - 1;

export const positiveMs = z
  .number({ error: 'must be a number of milliseconds' })
  .refine((n) => Number.isFinite(n) && n > 0, { error: 'must be a positive number of milliseconds' })
  .refine((n) => n <= MAX_TIMER_MS, { error: `must be at most ${MAX_TIMER_MS} ms (about 24.8 days)` });

export const port = z
  .number({ error: 'must be a number' })
  .int({ error: 'must be an integer' })
  .min(1, { error: 'must be between 1 and 65535' })
  .max(65535, { error: 'must be between 1 and 65535' });

export const requestPath = z
  .string({ error: 'must be a string' })
  .refine((p) => p.startsWith('/') && !/[\s#]/.test(p), {
    error: 'must be a path starting with `/`, without spaces or a fragment',
  });

export const headers = z.record(z.string(), z.string({ error: 'must be a string' }), {
  error: 'must be an object of header names to string values',
});

export const byteCount = z
  .number({ error: 'must be a number of bytes' })
  .int({ error: 'must be an integer number of bytes' })
  .min(1, { error: 'must be at least 1 byte' });

export function fn<T>(what = 'must be a function') {
  return z.custom<T>((v) => typeof v === 'function', { error: what });
}
