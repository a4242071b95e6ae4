// Answers that say the server did not process the request, so it may be sent again for any
// method, as after a refused connection.

import { NOT_PROCESSED_HEADER } from '@picket/core/internal';
import type { RetryConfig } from '../config.ts';
import { isReplayableBody } from '../retry/policy.ts';

type Headers = Record<string, string | string[] | undefined>;

/**
 * `unread`: a 408. RFC 9110: the server did not receive a complete request, so it processed none
 * of it. Servers (nginx, HAProxy, Node's requestTimeout) also write one unasked on an idle
 * keep-alive connection before closing it, which undici hands to the next request sent there.
 * Either way the attempt is cancelled, which destroys that socket, says nothing about the
 * instance, and the request is sent again.
 * `shed`: a 503 from a shedding server (loadReporter's `shed`), which promises it did nothing
 * with the request. Null for any other answer, or a body that cannot be sent again as it is.
 */
export function unprocessed(
  retry: RetryConfig,
  statusCode: number,
  headers: Headers,
  body: unknown,
): 'unread' | 'shed' | null {
  if (statusCode === 408) return retry.enabled && isReplayableBody(body) ? 'unread' : null;
  if (statusCode === 503 && headers[NOT_PROCESSED_HEADER] !== undefined && isReplayableBody(body))
    return 'shed';
  return null;
}
