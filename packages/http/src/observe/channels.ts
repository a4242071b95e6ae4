// Picket's diagnostics channels, for tracers and APMs (as undici publishes `undici:request:create`
// and friends). `picket:request` is a tracing channel around each call — start and end around
// the dispatch, error when it fails, asyncStart and asyncEnd when it has ended — and
// `picket:attempt:start` / `picket:attempt:end` mark each attempt on an instance. Nothing is
// built for a channel nobody subscribes to.

import diagnostics from 'node:diagnostics_channel';
import type { Outcome } from '@picket/core';

/** What `picket:request`'s events carry; the same object from start to asyncEnd. */
export interface RequestMessage {
  /** The client's `service`. */
  service: string;
  /** The request's method (`GET`, …). */
  method: string;
  /** The path, query credentials redacted. */
  path: string;
  /** Set when the call ended with a response: its status and how many attempts it took. */
  result?: {
    /** The response's status. */
    statusCode: number;
    /** Attempts the call made (1 when the first answered). */
    attempts: number;
  };
  /** Set when the call failed. */
  error?: unknown;
}

/** What `picket:attempt:start` and `picket:attempt:end` carry. */
export interface AttemptMessage {
  /** The client (the object `createClient` returned) the attempt belongs to. */
  client: object;
  /** The client's `service`. */
  service: string;
  /** The request's method (`GET`, …). */
  method: string;
  /** The path, query credentials redacted. */
  path: string;
  /** The instance's URL (records never carry credentials). */
  instance: string;
  /** The instance's id. */
  instanceId: string;
  /** 1 for a call's first attempt. */
  attempt: number;
  /** Sent as a hedge, while an earlier attempt was still waiting. */
  hedge: boolean;
  /** Sent as a retry, after an earlier attempt failed. */
  retry: boolean;
  /** On `picket:attempt:end`: how the attempt ended, as reported to the balancer. */
  outcome?: Outcome;
}

export const requestChannel = diagnostics.tracingChannel<RequestMessage, RequestMessage>('picket:request');
/** The diagnostics channel published as each attempt is sent, with an `AttemptMessage`. */
export const ATTEMPT_START_CHANNEL = 'picket:attempt:start';
/** The diagnostics channel published as each attempt ends, with its `AttemptMessage` and `outcome`. */
export const ATTEMPT_END_CHANNEL = 'picket:attempt:end';
export const attemptStartChannel = diagnostics.channel(ATTEMPT_START_CHANNEL);
export const attemptEndChannel = diagnostics.channel(ATTEMPT_END_CHANNEL);
