// The last retryable answer (a 503, say) a request put aside to try another instance. If no
// instance is left to try — every breaker opened meanwhile, or retries ran out on transport
// errors — the caller gets this answer rather than an error: a call that received a response
// returns the last response. Its body is kept up to a bound; one that outgrows it is dropped, and
// the call then ends with the error after all.

import type { PicketError } from '@picket/core';
import type { Attempt } from './attempt.ts';

type Headers = Record<string, string | string[] | undefined>;

/** Bytes of a put-aside body kept for the caller: retryable answers are short. */
const MAX_HELD_BYTES = 64 * 1024;

export class HeldResponse {
  readonly attempt: Attempt;
  readonly statusCode: number;
  readonly headers: Headers;
  readonly statusMessage: string | undefined;
  readonly chunks: Buffer[] = [];
  #bytes = 0;
  /** The body arrived whole (and within the bound): it can be handed over. */
  complete = false;
  /** The body outgrew the bound: it cannot be handed over. */
  tooLarge = false;
  trailers: Headers = {};
  /** No instance is left to try: the error to end with if this answer cannot be had. */
  givingUp: PicketError | null = null;

  constructor(attempt: Attempt, statusCode: number, headers: Headers, statusMessage: string | undefined) {
    this.attempt = attempt;
    this.statusCode = statusCode;
    this.headers = headers;
    this.statusMessage = statusMessage;
  }

  data(chunk: Buffer): void {
    if (this.tooLarge) return;
    this.#bytes += chunk.length;
    if (this.#bytes > MAX_HELD_BYTES) {
      this.tooLarge = true;
      this.chunks.length = 0;
      return;
    }
    this.chunks.push(Buffer.from(chunk));
  }

  end(trailers: Headers): void {
    this.trailers = trailers;
    this.complete = !this.tooLarge;
  }
}
