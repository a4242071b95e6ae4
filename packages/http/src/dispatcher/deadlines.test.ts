import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type DeadlineList, Deadlines, type Timed } from './deadlines.ts';

class Entry implements Timed {
  deadlineAt = 0;
  deadlineNext: Timed | null = null;
  deadlinePrev: Timed | null = null;
  deadlineList: DeadlineList | null = null;
  readonly name: string;
  readonly fired: string[];
  constructor(name: string, fired: string[]) {
    this.name = name;
    this.fired = fired;
  }
  timedOut(): void {
    this.fired.push(this.name);
  }
}

describe('Deadlines', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('expires entries in order, each at its own deadline, with one timer per timeout', () => {
    const deadlines = new Deadlines(100, () => Date.now());
    const fired: string[] = [];
    const a = new Entry('a', fired);
    const b = new Entry('b', fired);
    deadlines.add(a, 100, Date.now());
    vi.advanceTimersByTime(30);
    deadlines.add(b, 100, Date.now());
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(69);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual(['a']);
    vi.advanceTimersByTime(30);
    expect(fired).toEqual(['a', 'b']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('never fires an entry removed before its deadline', () => {
    const deadlines = new Deadlines(100, () => Date.now());
    const fired: string[] = [];
    const a = new Entry('a', fired);
    const b = new Entry('b', fired);
    const c = new Entry('c', fired);
    for (const e of [a, b, c]) deadlines.add(e, 100, Date.now());
    deadlines.remove(b);
    deadlines.remove(a);
    expect(b.deadlineList).toBeNull();
    vi.advanceTimersByTime(100);
    expect(fired).toEqual(['c']);
  });

  it('keeps other timeouts in their own lists', () => {
    const deadlines = new Deadlines(1000, () => Date.now());
    const fired: string[] = [];
    deadlines.add(new Entry('long', fired), 1000, Date.now());
    deadlines.add(new Entry('short', fired), 50, Date.now());
    vi.advanceTimersByTime(50);
    expect(fired).toEqual(['short']);
    vi.advanceTimersByTime(950);
    expect(fired).toEqual(['short', 'long']);
  });

  it('keeps the head’s deadline when an expiry adds an entry (a per-try timeout’s next attempt)', () => {
    const deadlines = new Deadlines(100, () => Date.now());
    const fired: string[] = [];
    const a = new Entry('a', fired);
    const b = new Entry('b', fired);
    const next = new Entry('next', fired);
    a.timedOut = () => {
      fired.push('a');
      deadlines.add(next, 100, Date.now());
    };
    deadlines.add(a, 100, Date.now());
    vi.advanceTimersByTime(40);
    deadlines.add(b, 100, Date.now());
    vi.advanceTimersByTime(60);
    expect(fired).toEqual(['a']);
    // b is due 40 ms after a, not when `next` is.
    vi.advanceTimersByTime(40);
    expect(fired).toEqual(['a', 'b']);
    vi.advanceTimersByTime(60);
    expect(fired).toEqual(['a', 'b', 'next']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('stops its timers on close', () => {
    const deadlines = new Deadlines(100, () => Date.now());
    deadlines.add(new Entry('a', []), 100, Date.now());
    deadlines.add(new Entry('b', []), 200, Date.now());
    deadlines.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});
