// diagnostics_channel publications of a client, for observers that must see every attempt (the
// dashboard's rates and percentiles). Published only while someone subscribes: otherwise the
// request path pays one boolean read. Channels are process-wide by name, so an observer sees
// clients from any installed copy of the package.

import { channel } from 'node:diagnostics_channel';
import type { Instance, Outcome } from '@picket/core';

/** The channel's name: one message per finished attempt, after its pick was released. */
export const ATTEMPT_CHANNEL = 'picket:http:attempt';

export interface AttemptMessage {
  /** The client (the object `createClient` returned) the attempt belongs to. */
  readonly client: object;
  readonly instance: Instance;
  /** As released to the balancer; `neutral` outcomes say nothing about the instance. */
  readonly outcome: Outcome;
}

export const attemptChannel = channel(ATTEMPT_CHANNEL);
