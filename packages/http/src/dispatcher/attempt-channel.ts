// `picket:attempt:start`, published when an attempt is sent, when the channel has subscribers.
// Its message is kept by the attempt and completed for `picket:attempt:end`.

import type { Instance } from '@picket/core';
import { type AttemptMessage, attemptEndChannel, attemptStartChannel } from '../observe/channels.ts';
import { redactPath } from '../redact.ts';
import type { DispatchCore } from './core.ts';

/** Publishes an attempt's start; its message, or null when no one listens. */
export function announceAttempt(
  core: DispatchCore,
  method: string,
  path: string,
  a: { readonly instance: Instance; readonly number: number; readonly hedge: boolean },
): AttemptMessage | null {
  if (!attemptStartChannel.hasSubscribers && !attemptEndChannel.hasSubscribers) return null;
  const message: AttemptMessage = {
    client: core,
    service: core.service,
    method,
    path: redactPath(path),
    instance: a.instance.url,
    instanceId: a.instance.id,
    attempt: a.number,
    hedge: a.hedge,
    retry: a.number > 1 && !a.hedge,
  };
  attemptStartChannel.publish(message);
  return message;
}
