import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type DeadlineQueue, Deadlines, type Timed } from './deadlines.ts';

class Entry implements Timed {
  deadlineAt = 0;
  deadlineNext: Timed | null = null;
  deadlinePrev: Timed | null = null;
  deadlineIndex = -1;
  deadlineList: DeadlineQueue | null = null;
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
    const deadlines = new Deadlines([100], () => Date.now());
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
    const deadlines = new Deadlines([100], () => Date.now());
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
    const deadlines = new Deadlines([1000], () => Date.now());
    const fired: string[] = [];
    deadlines.add(new Entry('long', fired), 1000, Date.now());
    deadlines.add(new Entry('short', fired), 50, Date.now());
    vi.advanceTimersByTime(50);
    expect(fired).toEqual(['short']);
    vi.advanceTimersByTime(950);
    expect(fired).toEqual(['short', 'long']);
  });

  it('keeps the head’s deadline when an expiry adds an entry (a per-try timeout’s next attempt)', () => {
    const deadlines = new Deadlines([100], () => Date.now());
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
    const deadlines = new Deadlines([100], () => Date.now());
    deadlines.add(new Entry('a', []), 100, Date.now());
    deadlines.add(new Entry('b', []), 200, Date.now());
    deadlines.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('expires per-request timeouts of any value in deadline order, each at its own time, on one timer', () => {
    const deadlines = new Deadlines([1000], () => Date.now());
    const fired: string[] = [];
    const timeouts = [70, 20, 50, 20, 90, 10, 60];
    const entries = timeouts.map((ms, i) => {
      const e = new Entry(`${ms}#${i}`, fired);
      deadlines.add(e, ms, Date.now());
      return e;
    });
    expect(vi.getTimerCount()).toBe(1);
    // One in the middle of the heap finishes first.
    deadlines.remove(entries[2]!);
    vi.advanceTimersByTime(9);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual(['10#5']);
    vi.advanceTimersByTime(10);
    expect(fired.sort()).toEqual(['10#5', '20#1', '20#3']);
    vi.advanceTimersByTime(70);
    expect(fired).toHaveLength(6);
    expect(fired).not.toContain('50#2');
    expect(deadlines.otherCount).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('re-arms for a new earliest deadline, and keeps the configured timeouts in their lists', () => {
    const deadlines = new Deadlines([1000, 300], () => Date.now());
    const fired: string[] = [];
    deadlines.add(new Entry('other-500', fired), 500, Date.now());
    deadlines.add(new Entry('other-5', fired), 5, Date.now());
    deadlines.add(new Entry('per-try', fired), 300, Date.now());
    expect(deadlines.otherCount).toBe(2);
    vi.advanceTimersByTime(5);
    expect(fired).toEqual(['other-5']);
    vi.advanceTimersByTime(295);
    expect(fired).toEqual(['other-5', 'per-try']);
    vi.advanceTimersByTime(200);
    expect(fired).toEqual(['other-5', 'per-try', 'other-500']);
  });
});

describe('Deadlines memory', () => {
  it('stays flat over a million requests with random timeouts (--expose-gc)', () => {
    vi.useRealTimers();
    const source = fileURLToPath(new URL('./deadlines.ts', import.meta.url));
    // Each request adds its deadline and removes it when answered, as the dispatcher does.
    const script = `
      const { Deadlines } = await import(${JSON.stringify(source)});
      class Entry { deadlineAt = 0; deadlineNext = null; deadlinePrev = null; deadlineIndex = -1; deadlineList = null; timedOut() {} }
      const deadlines = new Deadlines([30000], () => performance.now());
      let seed = 42;
      const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
      const inFlight = Array.from({ length: 64 }, () => new Entry());
      const run = (n) => {
        for (let i = 0; i < n; i++) {
          const e = inFlight[i % 64];
          if (e.deadlineList !== null) deadlines.remove(e);
          deadlines.add(e, 1000 + random() * 60000, performance.now());
        }
      };
      run(100000);
      globalThis.gc(); globalThis.gc();
      const before = process.memoryUsage().heapUsed;
      run(1000000);
      globalThis.gc(); globalThis.gc();
      const grown = process.memoryUsage().heapUsed - before;
      deadlines.close();
      console.log(JSON.stringify({ grownMb: grown / 1048576 }));
    `;
    const node = fileURLToPath(new URL('../../../../node_modules/.bin/node', import.meta.url));
    const child = spawnSync(node, ['--expose-gc', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(child.stderr).toBe('');
    const { grownMb } = JSON.parse(child.stdout) as { grownMb: number };
    // Before, each distinct value kept a list alive: ~450 B a request, ~430 MB here.
    expect(grownMb).toBeLessThan(4);
  });
});
