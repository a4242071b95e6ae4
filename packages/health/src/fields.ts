// Zod fields the check factories share, with messages in Picket's style (`must be …`).

import { z } from 'zod';

// Intervals and timeouts (Picket's duration rule, and more than 0), shares of a whole, ports and
// function options: the fields every package shares.
export { fn, fraction, port, positiveMs } from '@picket/core/internal';

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
