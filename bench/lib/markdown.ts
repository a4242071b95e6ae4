// Markdown helpers for bench/RESULTS.md.

export type Cell = string | number | undefined;

export function table(head: string[], rows: Cell[][]): string {
  const line = (cells: Cell[]) => `| ${cells.map((c) => (c === undefined ? '—' : String(c))).join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** `1.23×`, or — when not a number. */
export const times = (n: number | undefined): string =>
  n === undefined || !Number.isFinite(n) ? '—' : `${n.toFixed(2)}×`;

export const percent = (n: number | undefined, digits = 2): string =>
  n === undefined || !Number.isFinite(n) ? '—' : `${(n * 100).toFixed(digits)}%`;

export const ms = (n: number | undefined): string =>
  n === undefined || !Number.isFinite(n) ? '—' : n >= 100 ? String(Math.round(n)) : n.toFixed(2);

/** Image links for the plots of one bench. */
export interface PlotRef {
  bench: string;
  file: string;
  title: string;
}

export function images(plots: readonly PlotRef[], bench: string): string[] {
  return plots.filter((p) => p.bench === bench).flatMap((p) => [`![${p.title}](plots/${p.file})`, '']);
}
