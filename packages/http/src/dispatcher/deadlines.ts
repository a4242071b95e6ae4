// Request deadlines without a timer per request. Requests with the same timeout expire in the
// order they started, so each timeout value gets a FIFO list threaded through the requests
// themselves and one timer armed for its head (the scheme Node uses inside its own timers, but
// with no Timeout object, no libuv ref toggling and no allocation per request). A request that
// finishes unlinks itself in O(1); the timer, when it fires, expires what is due and re-arms.

export interface Timed {
  deadlineAt: number;
  deadlineNext: Timed | null;
  deadlinePrev: Timed | null;
  deadlineList: DeadlineList | null;
  /** The deadline passed. Called once, after the request was unlinked. */
  timedOut(): void;
}

function onTimer(list: DeadlineList): void {
  list.fire();
}

export class DeadlineList {
  readonly #now: () => number;
  #head: Timed | null = null;
  #tail: Timed | null = null;
  #timer: NodeJS.Timeout | undefined = undefined;
  // An expiry may add to the list (a per-try timeout launches the next attempt); the timer is
  // then armed for the head once expiry is over, not for the entry just added.
  #firing = false;

  constructor(now: () => number) {
    this.#now = now;
  }

  add(t: Timed, at: number): void {
    t.deadlineAt = at;
    t.deadlineList = this;
    t.deadlineNext = null;
    t.deadlinePrev = this.#tail;
    if (this.#tail === null) this.#head = t;
    else this.#tail.deadlineNext = t;
    this.#tail = t;
    if (this.#timer === undefined && !this.#firing) this.#arm(at);
  }

  remove(t: Timed): void {
    const prev = t.deadlinePrev;
    const next = t.deadlineNext;
    if (prev === null) this.#head = next;
    else prev.deadlineNext = next;
    if (next === null) this.#tail = prev;
    else next.deadlinePrev = prev;
    t.deadlineNext = null;
    t.deadlinePrev = null;
    t.deadlineList = null;
  }

  #arm(at: number): void {
    this.#timer = setTimeout(onTimer, Math.max(1, Math.ceil(at - this.#now())), this);
    this.#timer.unref();
  }

  fire(): void {
    this.#timer = undefined;
    // Timers may fire a fraction of a millisecond before the monotonic clock agrees.
    const now = this.#now() + 0.5;
    this.#firing = true;
    try {
      for (let head = this.#head; head !== null && head.deadlineAt <= now; head = this.#head) {
        this.remove(head);
        head.timedOut();
      }
    } finally {
      this.#firing = false;
      if (this.#head !== null && this.#timer === undefined) this.#arm(this.#head.deadlineAt);
    }
  }

  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** Deadline lists by timeout value; the client's default timeout has its list at hand. */
export class Deadlines {
  readonly #defaultMs: number;
  readonly #default: DeadlineList;
  readonly #lists = new Map<number, DeadlineList>();
  readonly #now: () => number;

  constructor(defaultMs: number, now: () => number) {
    this.#defaultMs = defaultMs;
    this.#now = now;
    this.#default = new DeadlineList(now);
  }

  add(t: Timed, timeoutMs: number, now: number): void {
    let list = this.#default;
    if (timeoutMs !== this.#defaultMs) {
      let other = this.#lists.get(timeoutMs);
      if (other === undefined) {
        other = new DeadlineList(this.#now);
        this.#lists.set(timeoutMs, other);
      }
      list = other;
    }
    list.add(t, now + timeoutMs);
  }

  remove(t: Timed): void {
    t.deadlineList?.remove(t);
  }

  close(): void {
    this.#default.close();
    for (const list of this.#lists.values()) list.close();
    this.#lists.clear();
  }
}
