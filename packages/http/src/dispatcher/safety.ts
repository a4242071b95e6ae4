// Whether a request may be sent again after it may have reached the server (idempotent), and
// with its body as it is (replayable). Worked out on first need (a failure, or hedging), not for
// every request that succeeds at once.

import type { RetryConfig } from '../config.ts';
import { isIdempotent, isReplayableBody } from '../retry/policy.ts';
import type { PicketDispatchOptions } from './core.ts';

export type Safety = 'unsafe' | 'idempotent' | 'replayable';

export function judgeSafety(retry: RetryConfig, method: string, opts: PicketDispatchOptions): Safety {
  if (!isIdempotent(retry, method, opts.idempotent)) return 'unsafe';
  return isReplayableBody(opts.body) ? 'replayable' : 'idempotent';
}
