// An attempt's `perTryTimeout` deadline (until response headers), kept in the client's deadline
// lists (deadlines.ts) like a request's overall one. Made only when `perTryTimeout` is set.

import type { DeadlineQueue, Timed } from './deadlines.ts';

export interface PerTryOwner {
  /** The deadline passed (the entry is already unlinked). */
  perTryExpired(): void;
}

export class PerTry implements Timed {
  readonly #owner: PerTryOwner;
  deadlineAt = 0;
  deadlineNext: Timed | null = null;
  deadlinePrev: Timed | null = null;
  deadlineIndex = -1;
  deadlineList: DeadlineQueue | null = null;

  constructor(owner: PerTryOwner) {
    this.#owner = owner;
  }

  timedOut(): void {
    this.#owner.perTryExpired();
  }
}
