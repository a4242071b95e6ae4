import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { quantile, SlidingStats } from '../../src/cli/stats.ts';
import { type Column, createScreen, formatMs, renderTable } from '../../src/cli/table.ts';

class Sink extends Writable {
  text = '';
  columns: number | undefined;
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

interface Row {
  name: string;
  n: number;
}
const columns: Column<Row>[] = [
  { title: 'NAME', value: (r) => r.name, color: (r) => (r.n > 5 ? '31' : undefined) },
  { title: 'N', align: 'right', value: (r) => String(r.n) },
];

describe('renderTable', () => {
  it('aligns columns to their widest cell, numbers to the right', () => {
    expect(
      renderTable(columns, [
        { name: 'inventory-1', n: 7 },
        { name: 'b', n: 12 },
      ]),
    ).toEqual(['NAME          N', 'inventory-1   7', 'b            12']);
  });

  it('colours cells only when asked, after padding', () => {
    const [, plain] = renderTable(columns, [{ name: 'a', n: 9 }]);
    const [, coloured] = renderTable(columns, [{ name: 'a', n: 9 }], true);
    expect(plain).not.toContain('\x1b[');
    expect(coloured).toBe('\x1b[31mNAME\x1b[0m  9'.replace('NAME', 'a   '));
  });
});

describe('createScreen', () => {
  it('appends every table after a blank line when the output is not a terminal', () => {
    const out = new Sink();
    const screen = createScreen(out, false);
    screen.draw(['one']);
    screen.log('event');
    screen.draw(['two']);
    screen.close();
    expect(out.text).toBe('\none\nevent\n\ntwo\n');
  });

  it('redraws in place on a terminal: back to the first line of the last table, cleared', () => {
    const out = new Sink();
    const screen = createScreen(out, true);
    screen.draw(['a', 'b']);
    const first = out.text;
    screen.draw(['c', 'd']);
    expect(first).toBe('\x1b[?25la\x1b[K\nb\x1b[K\n');
    expect(out.text.slice(first.length)).toBe('\x1b[2F\x1b[0Jc\x1b[K\nd\x1b[K\n');
    screen.log('event');
    expect(out.text.endsWith('\x1b[2F\x1b[0Jevent\x1b[K\nc\x1b[K\nd\x1b[K\n')).toBe(true);
    screen.close();
    expect(out.text.endsWith('\x1b[?25h')).toBe(true);
  });

  it('cuts lines wider than the terminal so the cursor arithmetic holds', () => {
    const out = new Sink();
    out.columns = 10;
    const screen = createScreen(out, true);
    screen.draw(['\x1b[32m0123456789abcdef\x1b[0m']);
    expect(out.text).toContain('012345678\x1b[K\n');
  });
});

describe('SlidingStats', () => {
  it('gives p50 and p99 of the samples inside the window only', () => {
    const stats = new SlidingStats(1000);
    for (let i = 1; i <= 100; i++) stats.addLatency('a', i, 0);
    stats.addLatency('a', 500, 900);
    expect(stats.latency('a', 900)).toEqual({ p50: 51, p99: 100, count: 101 });
    expect(stats.latency('a', 1500)).toEqual({ p50: 500, p99: 500, count: 1 });
    expect(stats.latency('b', 0)).toEqual({ p50: undefined, p99: undefined, count: 0 });
  });

  it('turns a cumulative counter into a rate per second over the window', () => {
    const stats = new SlidingStats(2000);
    expect(stats.rate('a', 0, 0)).toBe(0);
    expect(stats.rate('a', 50, 1000)).toBe(50);
    expect(stats.rate('a', 150, 2000)).toBe(75);
    // Samples older than the window are dropped: 100 more in the last 2 s → 50/s … (250 − 50) / 2.
    expect(stats.rate('a', 250, 3000)).toBe(100);
  });

  it('starts over when a counter goes down (a new incarnation of the instance)', () => {
    const stats = new SlidingStats(2000);
    stats.rate('a', 500, 0);
    expect(stats.rate('a', 3, 1000)).toBe(0);
    expect(stats.rate('a', 13, 2000)).toBe(10);
  });
});

describe('formatters', () => {
  it('formats latencies as people read them', () => {
    expect([formatMs(undefined), formatMs(0.123), formatMs(4.56), formatMs(42.4), formatMs(1234)]).toEqual([
      '-',
      '0.12 ms',
      '4.6 ms',
      '42 ms',
      '1.23 s',
    ]);
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(quantile([], 0.5)).toBeUndefined();
  });
});
