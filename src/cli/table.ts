// The live table: rows rendered into aligned columns, and a screen that redraws them in place on a
// terminal (ANSI cursor movement) or appends plain lines when output goes to a file or a pipe.

import type { Writable } from 'node:stream';

export interface Column<R> {
  title: string;
  /** Default 'left'. */
  align?: 'left' | 'right';
  value(row: R): string;
  /** An SGR code to colour the cell with on a terminal (`'32'` green), or undefined. */
  color?(row: R): string | undefined;
}

/** Renders rows as lines of aligned columns; colours only when `color` is set. */
export function renderTable<R>(columns: readonly Column<R>[], rows: readonly R[], color = false): string[] {
  const cells = rows.map((row) => columns.map((c) => c.value(row)));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((r) => r[i]!.length)));
  const pad = (text: string, i: number) =>
    columns[i]!.align === 'right' ? text.padStart(widths[i]!) : text.padEnd(widths[i]!);
  const lines = [
    columns
      .map((c, i) => pad(c.title, i))
      .join('  ')
      .trimEnd(),
  ];
  rows.forEach((row, r) => {
    const parts = cells[r]!.map((text, i) => {
      const padded = pad(text, i);
      const code = color ? columns[i]!.color?.(row) : undefined;
      return code === undefined ? padded : `\x1b[${code}m${padded}\x1b[0m`;
    });
    lines.push(parts.join('  ').trimEnd());
  });
  return lines;
}

/** `0.42 ms`, `12 ms`, `1.25 s`, or `-` for nothing. */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 10) return `${ms.toFixed(ms < 1 ? 2 : 1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** SGR colour for an instance state: green healthy, yellow on its way, red out of rotation. */
export function stateColor(state: string): string | undefined {
  if (state === 'healthy') return '32';
  if (state === 'unknown' || state === 'warming' || state === 'draining') return '33';
  return '31';
}

export interface Screen {
  /** True when the screen redraws in place. */
  readonly live: boolean;
  /** Replaces the table (live), or appends it (plain). */
  draw(lines: readonly string[]): void;
  /** A line that stays: printed above the table (live), or appended (plain). */
  log(line: string): void;
  /** Leaves the last table on screen and shows the cursor again. Idempotent. */
  close(): void;
}

const ESC = '\x1b[';
// Colour codes, for measuring a line as the terminal shows it.
const SGR = new RegExp(`${ESC.replace('[', '\\[')}[0-9;]*m`, 'g');

/**
 * A screen on `out`. Live (redrawn in place) when `live` is true, which callers set from
 * `stream.isTTY`; plain otherwise, where every draw appends the table after a blank line.
 */
export function createScreen(out: Writable, live: boolean): Screen {
  let drawn = 0;
  let last: readonly string[] = [];
  let closed = false;
  // Moves to the first line of the table drawn last and clears from there down.
  const erase = () => (drawn > 0 ? `${ESC}${drawn}F${ESC}0J` : '');
  // A line wider than the terminal wraps and breaks the cursor arithmetic: cut it (colour and all).
  const clip = (line: string) => {
    const width = (out as { columns?: number }).columns;
    if (width === undefined || width <= 1) return line;
    const plain = line.replace(SGR, '');
    return plain.length < width ? line : plain.slice(0, width - 1);
  };
  const body = (lines: readonly string[]) => lines.map((l) => `${clip(l)}${ESC}K\n`).join('');
  if (live) out.write(`${ESC}?25l`);
  return {
    live,
    draw(lines) {
      if (closed) return;
      last = lines;
      if (!live) {
        out.write(`\n${lines.join('\n')}\n`);
        return;
      }
      out.write(erase() + body(lines));
      drawn = lines.length;
    },
    log(line) {
      if (closed || !live) {
        out.write(`${line}\n`);
        return;
      }
      out.write(`${erase()}${clip(line)}${ESC}K\n${body(last)}`);
      drawn = last.length;
    },
    close() {
      if (closed) return;
      closed = true;
      if (live) out.write(`${ESC}?25h`);
    },
  };
}
