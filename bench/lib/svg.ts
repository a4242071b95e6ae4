// Hand-written SVG charts for bench/plots (no dependency): horizontal bars, optionally stacked,
// and line charts with a log or percentile x axis ("HdrHistogram style": p90, p99, p99.9 evenly
// spaced, so the tail is visible) and a log or linear y axis.

const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#7f7f7f',
  '#bcbd22',
  '#393b79',
  '#637939',
];

export const colour = (i: number): string => PALETTE[i % PALETTE.length]!;

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (n: number): string =>
  n >= 100 ? String(Math.round(n)) : n >= 10 ? n.toFixed(1) : n >= 1 ? n.toFixed(2) : n.toPrecision(2);

function frame(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

export interface Bar {
  label: string;
  /** Stacked segments, left to right. */
  values: number[];
  /** Palette index of the bar's first segment. Default: by segment. */
  colour?: number;
}

/** Horizontal bars, one per row; `segments` names the stacked parts (legend) when there are several. */
export function barChart(options: {
  title: string;
  unit: string;
  bars: Bar[];
  segments?: string[];
  /** A vertical reference line, e.g. the baseline's value. */
  reference?: { value: number; label: string };
}): string {
  const { bars, unit } = options;
  const left = 230;
  const right = 90;
  const rowH = 24;
  const top = options.segments !== undefined && options.segments.length > 1 ? 58 : 40;
  const width = 760;
  const height = top + bars.length * rowH + 44;
  const max = Math.max(
    ...bars.map((b) => b.values.reduce((a, v) => a + v, 0)),
    options.reference?.value ?? 0,
  );
  const scale = (v: number) => (v / (max * 1.05)) * (width - left - right);
  const body: string[] = [];
  if (options.segments !== undefined && options.segments.length > 1) {
    options.segments.forEach((name, i) => {
      const x = left + i * 200;
      body.push(`<rect x="${x}" y="34" width="12" height="12" fill="${colour(i)}"/>`);
      body.push(`<text x="${x + 18}" y="44">${esc(name)}</text>`);
    });
  }
  bars.forEach((bar, row) => {
    const y = top + row * rowH;
    body.push(`<text x="${left - 8}" y="${y + 15}" text-anchor="end">${esc(bar.label)}</text>`);
    let x = left;
    bar.values.forEach((v, i) => {
      const w = Math.max(0, scale(v));
      const fill = colour(bar.colour === undefined ? i : bar.colour + i);
      body.push(
        `<rect x="${x.toFixed(1)}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${fill}"/>`,
      );
      x += w;
    });
    const total = bar.values.reduce((a, v) => a + v, 0);
    body.push(`<text x="${(x + 6).toFixed(1)}" y="${y + 15}">${fmt(total)}</text>`);
  });
  const axisY = top + bars.length * rowH + 4;
  body.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${axisY}" stroke="#333"/>`);
  body.push(
    `<text x="${left + (width - left - right) / 2}" y="${axisY + 30}" text-anchor="middle">${esc(unit)}</text>`,
  );
  if (options.reference !== undefined) {
    const x = left + scale(options.reference.value);
    body.push(
      `<line x1="${x.toFixed(1)}" y1="${top - 4}" x2="${x.toFixed(1)}" y2="${axisY}" stroke="#555" stroke-dasharray="4 3"/>`,
    );
    body.push(
      `<text x="${x.toFixed(1)}" y="${axisY + 14}" text-anchor="middle" fill="#555">${esc(options.reference.label)}</text>`,
    );
  }
  return frame(width, height, options.title, body);
}

function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw > 0 ? raw : 1));
  const f = raw / power;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * power;
}

export interface Series {
  name: string;
  points: [number, number][];
  dashed?: boolean;
}

/** x on the percentile axis: 0 → 0, p90 → 1, p99 → 2, p99.9 → 3 …; the maximum just past p99.99. */
const percentileX = (p: number): number => (p >= 100 ? 4.6 : -Math.log10(1 - p / 100));

export function lineChart(options: {
  title: string;
  series: Series[];
  x: 'percentile' | 'log';
  xLabel: string;
  yLabel: string;
  yLog?: boolean;
}): string {
  const width = 760;
  const height = 440;
  const left = 70;
  const right = 230;
  const top = 40;
  const bottom = 56;
  const all = options.series
    .flatMap((s) => s.points)
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const tx = options.x === 'percentile' ? percentileX : Math.log10;
  const ty = options.yLog === true ? (v: number) => Math.log10(Math.max(v, 1e-3)) : (v: number) => v;
  const xs = all.map(([x]) => tx(x));
  const ys = all.map(([, y]) => ty(y));
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  let y0 = options.yLog === true ? Math.floor(Math.min(...ys)) : 0;
  // Linear axes end on a round step (1, 2 or 5 × 10^k, about five of them).
  const step = niceStep(Math.max(...ys) / 5);
  let y1 =
    options.yLog === true ? Math.ceil(Math.max(...ys)) : Math.ceil((Math.max(...ys) * 1.04) / step) * step;
  if (y1 <= y0) [y0, y1] = [y0 - 1, y0 + 1];
  const px = (x: number) => left + ((tx(x) - x0) / (x1 - x0 || 1)) * (width - left - right);
  const py = (y: number) => top + (1 - (ty(y) - y0) / (y1 - y0)) * (height - top - bottom);
  const body: string[] = [];
  // Grid and ticks.
  const xTicks =
    options.x === 'percentile'
      ? [0, 90, 99, 99.9, 99.99, 100].filter((p) => percentileX(p) <= x1 + 1e-9)
      : Array.from({ length: Math.floor(x1) - Math.ceil(x0) + 1 }, (_, i) => 10 ** (Math.ceil(x0) + i));
  for (const t of xTicks) {
    const x = px(t);
    const label = options.x === 'percentile' ? (t === 100 ? 'max' : `p${t}`) : t.toLocaleString('en');
    body.push(
      `<line x1="${x.toFixed(1)}" y1="${top}" x2="${x.toFixed(1)}" y2="${height - bottom}" stroke="#e5e5e5"/>`,
    );
    body.push(`<text x="${x.toFixed(1)}" y="${height - bottom + 16}" text-anchor="middle">${label}</text>`);
  }
  const yTicks =
    options.yLog === true
      ? Array.from({ length: y1 - y0 + 1 }, (_, i) => 10 ** (y0 + i))
      : Array.from({ length: Math.round(y1 / step) + 1 }, (_, i) => step * i);
  for (const t of yTicks) {
    const y = py(t);
    body.push(
      `<line x1="${left}" y1="${y.toFixed(1)}" x2="${width - right}" y2="${y.toFixed(1)}" stroke="#e5e5e5"/>`,
    );
    body.push(`<text x="${left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end">${fmt(t)}</text>`);
  }
  body.push(
    `<rect x="${left}" y="${top}" width="${width - left - right}" height="${height - top - bottom}" fill="none" stroke="#333"/>`,
  );
  body.push(
    `<text x="${left + (width - left - right) / 2}" y="${height - 14}" text-anchor="middle">${esc(options.xLabel)}</text>`,
  );
  body.push(
    `<text transform="translate(16 ${top + (height - top - bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(options.yLabel)}</text>`,
  );
  options.series.forEach((s, i) => {
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    const d = pts
      .map(([x, y], k) => `${k === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`)
      .join(' ');
    const dash = s.dashed === true ? ' stroke-dasharray="5 3"' : '';
    body.push(`<path d="${d}" fill="none" stroke="${colour(i)}" stroke-width="2"${dash}/>`);
    const ly = top + 8 + i * 18;
    body.push(
      `<line x1="${width - right + 12}" y1="${ly}" x2="${width - right + 36}" y2="${ly}" stroke="${colour(i)}" stroke-width="2"${dash}/>`,
    );
    body.push(`<text x="${width - right + 42}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  return frame(width, height, options.title, body);
}
