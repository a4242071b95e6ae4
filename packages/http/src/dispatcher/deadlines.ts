// Request deadlines without a timer per request. Requests with the same timeout expire in the
// order they started, so each timeout the client is configured with (its `timeout`, its
// `perTryTimeout`) gets a FIFO list threaded through the requests themselves and one timer armed
// for its head (the scheme Node uses inside its own timers, but with no Timeout object, no libuv
// ref toggling and no allocation per request). A request that finishes unlinks itself in O(1).
// Any other timeout (a per-request `timeout`, often the remaining time of an upstream deadline,
// so a different value each time) goes to one binary heap with one timer: O(log n), and memory
// bounded by the requests in flight, not by the distinct values ever seen.

/** Where a Timed entry is kept: a FIFO list or the heap. */
export interface DeadlineQueue {
  remove(t: Timed): void;
}

export interface Timed {
  deadlineAt: number;
  deadlineNext: Timed | null;
  deadlinePrev: Timed | null;
  /** Position in the heap, when kept there. */
  deadlineIndex: number;
  deadlineList: DeadlineQueue | null;
  /** The deadline passed. Called once, after the request was unlinked. */
  timedOut(): void;
}

function onTimer(queue: DeadlineList | DeadlineHeap): void {
  queue.fire();
}

class DeadlineList implements DeadlineQueue {
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

/** Deadlines of any value, in a binary min-heap on `deadlineAt`, with one timer for the earliest. */
class DeadlineHeap implements DeadlineQueue {
  readonly #now: () => number;
  readonly #heap: Timed[] = [];
  #timer: NodeJS.Timeout | undefined = undefined;
  /** When the armed timer fires; a new earliest deadline before it re-arms. */
  #armedAt = Number.POSITIVE_INFINITY;
  #firing = false;

  constructor(now: () => number) {
    this.#now = now;
  }

  get size(): number {
    return this.#heap.length;
  }

  add(t: Timed, at: number): void {
    t.deadlineAt = at;
    t.deadlineList = this;
    t.deadlineNext = null;
    t.deadlinePrev = null;
    const heap = this.#heap;
    heap.push(t);
    this.#up(heap.length - 1);
    if (!this.#firing && at < this.#armedAt) this.#arm(at);
  }

  remove(t: Timed): void {
    const heap = this.#heap;
    const i = t.deadlineIndex;
    const last = heap.pop()!;
    if (last !== t) {
      heap[i] = last;
      last.deadlineIndex = i;
      this.#down(i);
      this.#up(last.deadlineIndex);
    }
    t.deadlineIndex = -1;
    t.deadlineList = null;
    // The timer stays armed for the old earliest deadline: it finds nothing due and re-arms.
  }

  #up(i: number): void {
    const heap = this.#heap;
    const t = heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (p.deadlineAt <= t.deadlineAt) break;
      heap[i] = p;
      p.deadlineIndex = i;
      i = parent;
    }
    heap[i] = t;
    t.deadlineIndex = i;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const t = heap[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && heap[child + 1]!.deadlineAt < heap[child]!.deadlineAt) child++;
      const c = heap[child]!;
      if (c.deadlineAt >= t.deadlineAt) break;
      heap[i] = c;
      c.deadlineIndex = i;
      i = child;
    }
    heap[i] = t;
    t.deadlineIndex = i;
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#armedAt = at;
    this.#timer = setTimeout(onTimer, Math.max(1, Math.ceil(at - this.#now())), this);
    this.#timer.unref();
  }

  fire(): void {
    this.#timer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    const now = this.#now() + 0.5;
    this.#firing = true;
    try {
      const heap = this.#heap;
      for (let head = heap[0]; head !== undefined && head.deadlineAt <= now; head = heap[0]) {
        this.remove(head);
        head.timedOut();
      }
    } finally {
      this.#firing = false;
      const head = this.#heap[0];
      if (head !== undefined) this.#arm(head.deadlineAt);
    }
  }

  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
  }
}

/**
 * The client's deadlines: a FIFO list per timeout it is configured with, and the heap for every
 * other value.
 */
export class Deadlines {
  readonly #lists = new Map<number, DeadlineList>();
  readonly #first: number;
  /** The first timeout's list; null when the client sets no timeout. */
  readonly #firstList: DeadlineList | null;
  readonly #others: DeadlineHeap;

  /** `fixed`: the timeouts set on the client (the first is the most used: its list is at hand). */
  constructor(fixed: readonly number[], now: () => number) {
    for (const ms of fixed) if (!this.#lists.has(ms)) this.#lists.set(ms, new DeadlineList(now));
    this.#first = fixed[0] ?? -1;
    this.#firstList = this.#lists.get(this.#first) ?? null;
    this.#others = new DeadlineHeap(now);
  }

  add(t: Timed, timeoutMs: number, now: number): void {
    const first = this.#firstList;
    if (first !== null && timeoutMs === this.#first) {
      first.add(t, now + timeoutMs);
      return;
    }
    const list = this.#lists.get(timeoutMs);
    if (list !== undefined) list.add(t, now + timeoutMs);
    else this.#others.add(t, now + timeoutMs);
  }

  remove(t: Timed): void {
    t.deadlineList?.remove(t);
  }

  /** Deadlines in the heap (per-request values), for tests. */
  get otherCount(): number {
    return this.#others.size;
  }

  close(): void {
    for (const list of this.#lists.values()) list.close();
    this.#others.close();
  }
}
