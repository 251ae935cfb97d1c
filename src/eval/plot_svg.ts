// Hand-written SVG line charts for `lrnn compare` and the stability report: axes with "nice" ticks and
// labels, an optional log scale per axis, a legend, and one polyline per series (NaN/null points break the
// line). No dependencies; the output is plain, well-formed XML that browsers and GitHub render.
// Test: node scripts/test.mjs src/eval/plot_svg
export interface Series {
  name: string;
  /** [x, y] pairs; a non-finite y (or a y ≤ 0 on a log axis) starts a new line segment. */
  points: [number, number][];
  /** Draw markers at the points (for sparse series such as evaluations). */
  markers?: boolean;
  dashed?: boolean;
  /** Palette index (default: the series' position); give two series the same index to pair them. */
  color?: number;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logX?: boolean;
  logY?: boolean;
  width?: number;
  height?: number;
}

// Colour-blind-safe palette (Okabe–Ito), cycled.
const COLORS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];

/** Escapes text for XML content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** Formats a tick value compactly: 1500 → 1.5k, 2e6 → 2M, 0.001 → 0.001, 1e-5 → 1e-5. */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  const trim = (x: number) => String(Number(x.toPrecision(3)));
  if (a >= 1e9) return trim(v / 1e9) + 'G';
  if (a >= 1e6) return trim(v / 1e6) + 'M';
  if (a >= 1e4) return trim(v / 1e3) + 'k';
  if (a >= 1e-3) return trim(v);
  return v.toExponential(1).replace(/\.0e/, 'e');
}

/** Linear ticks at 1, 2 or 5 × 10^k steps covering [lo, hi] (about `target` of them). */
export function niceTicks(lo: number, hi: number, target = 6): { lo: number; hi: number; ticks: number[] } {
  if (!(hi > lo)) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / Math.max(1, target - 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const nlo = Math.floor(lo / step + 1e-9) * step, nhi = Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let v = nlo; v <= nhi + step * 1e-6; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  return { lo: nlo, hi: nhi, ticks };
}

/** Log ticks: decades, plus 2 and 5 when the range spans few decades (values must be > 0). */
export function logTicks(lo: number, hi: number): { lo: number; hi: number; ticks: number[] } {
  let a = Math.floor(Math.log10(lo)), b = Math.ceil(Math.log10(hi));
  if (a === b) b += 1;
  const ticks: number[] = [];
  const mult = b - a <= 2 ? [1, 2, 5] : [1];
  for (let e = a; e <= b; ++e) for (const m of mult) {
    const v = Number((m * 10 ** e).toPrecision(12));
    if (v >= 10 ** a && v <= 10 ** b) ticks.push(v);
  }
  // With 1-2-5 ticks, tighten to the ticks around the data instead of whole decades.
  if (b - a <= 2) {
    const tlo = Math.max(...ticks.filter((t) => t <= lo)), thi = Math.min(...ticks.filter((t) => t >= hi));
    return { lo: tlo, hi: thi, ticks: ticks.filter((t) => t >= tlo && t <= thi) };
  }
  return { lo: 10 ** a, hi: 10 ** b, ticks };
}

interface Axis {
  lo: number;
  hi: number;
  ticks: number[];
  log: boolean;
}

function makeAxis(values: number[], log: boolean): Axis {
  const v = values.filter((x) => Number.isFinite(x) && (!log || x > 0));
  if (v.length === 0) return { lo: log ? 1 : 0, hi: log ? 10 : 1, ticks: log ? [1, 10] : [0, 1], log };
  let lo = Infinity, hi = -Infinity;
  for (const x of v) { if (x < lo) lo = x; if (x > hi) hi = x; }
  if (log) {
    if (hi === lo) { lo /= 2; hi *= 2; }
    return { ...logTicks(lo, hi), log };
  }
  return { ...niceTicks(lo, hi, 8), log };
}

function scale(ax: Axis, v: number, a: number, b: number): number {
  const f = ax.log ? (Math.log10(v) - Math.log10(ax.lo)) / (Math.log10(ax.hi) - Math.log10(ax.lo)) : (v - ax.lo) / (ax.hi - ax.lo);
  return a + f * (b - a);
}

const r1 = (x: number) => Math.round(x * 10) / 10;

/** Renders a line chart as a standalone SVG document. */
export function lineChart(o: ChartOptions): string {
  const W = o.width ?? 780, H = o.height ?? 420;
  // Legend at the right, sized to the longest name (about 6.3 px per character at 11 px); longer names are cut.
  const legendW = Math.min(320, Math.ceil(40 + 6.3 * Math.max(0, ...o.series.map((s) => s.name.length))));
  const maxChars = Math.floor((legendW - 40) / 6.3);
  const label = (s: string) => (s.length > maxChars ? s.slice(0, maxChars - 1) + '…' : s);
  const L = 72, R = W - legendW - 16, T = 40, B = H - 56;
  const logX = !!o.logX, logY = !!o.logY;
  const okX = (x: number) => Number.isFinite(x) && (!logX || x > 0);
  const okY = (y: number) => Number.isFinite(y) && (!logY || y > 0);
  const xs: number[] = [], ys: number[] = [];
  for (const s of o.series) for (const [x, y] of s.points) if (okX(x) && okY(y)) { xs.push(x); ys.push(y); }
  const ax = makeAxis(xs, logX), ay = makeAxis(ys, logY);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<title>${escapeXml(o.title)}</title>`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${r1(W / 2)}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(o.title)}</text>`);
  // Grid and ticks.
  out.push('<g class="grid" stroke="#e5e5e5" stroke-width="1">');
  for (const t of ax.ticks) { const x = r1(scale(ax, t, L, R)); out.push(`<line x1="${x}" y1="${T}" x2="${x}" y2="${B}"/>`); }
  for (const t of ay.ticks) { const y = r1(scale(ay, t, B, T)); out.push(`<line x1="${L}" y1="${y}" x2="${R}" y2="${y}"/>`); }
  out.push('</g>');
  out.push(`<g class="axes" stroke="#333333" stroke-width="1"><line x1="${L}" y1="${B}" x2="${R}" y2="${B}"/><line x1="${L}" y1="${T}" x2="${L}" y2="${B}"/></g>`);
  out.push('<g class="x-ticks" text-anchor="middle" fill="#333333">');
  for (const t of ax.ticks) { const x = r1(scale(ax, t, L, R)); out.push(`<line x1="${x}" y1="${B}" x2="${x}" y2="${B + 5}" stroke="#333333"/><text x="${x}" y="${B + 18}">${escapeXml(formatTick(t))}</text>`); }
  out.push('</g>');
  out.push('<g class="y-ticks" text-anchor="end" fill="#333333">');
  for (const t of ay.ticks) { const y = r1(scale(ay, t, B, T)); out.push(`<line x1="${L - 5}" y1="${y}" x2="${L}" y2="${y}" stroke="#333333"/><text x="${L - 8}" y="${r1(y + 4)}">${escapeXml(formatTick(t))}</text>`); }
  out.push('</g>');
  out.push(`<text class="x-label" x="${r1((L + R) / 2)}" y="${H - 16}" text-anchor="middle">${escapeXml(o.xLabel + (logX ? ' (log scale)' : ''))}</text>`);
  out.push(`<text class="y-label" x="16" y="${r1((T + B) / 2)}" text-anchor="middle" transform="rotate(-90 16 ${r1((T + B) / 2)})">${escapeXml(o.yLabel + (logY ? ' (log scale)' : ''))}</text>`);
  // Series, clipped to the plot area.
  out.push(`<defs><clipPath id="plot-area"><rect x="${L}" y="${T}" width="${R - L}" height="${B - T}"/></clipPath></defs>`);
  out.push('<g class="series" clip-path="url(#plot-area)" fill="none" stroke-width="1.6">');
  o.series.forEach((s, i) => {
    const color = COLORS[(s.color ?? i) % COLORS.length]!;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    let seg: string[] = [];
    const flush = () => {
      if (seg.length > 1) out.push(`<polyline stroke="${color}"${dash} points="${seg.join(' ')}"/>`);
      seg = [];
    };
    const pts: string[] = [];
    for (const [x, y] of s.points) {
      if (!okX(x) || !okY(y)) { flush(); continue; }
      const p = `${r1(scale(ax, x, L, R))},${r1(scale(ay, y, B, T))}`;
      seg.push(p);
      pts.push(p);
    }
    flush();
    if (s.markers || pts.length === 1) for (const p of pts) { const [cx, cy] = p.split(','); out.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${color}" stroke="${color}"/>`); }
  });
  out.push('</g>');
  // Legend.
  const lx = R + 16;
  out.push(`<g class="legend" font-size="11"><rect x="${lx - 6}" y="${T}" width="${legendW}" height="${8 + 18 * o.series.length}" fill="#ffffff" stroke="#cccccc"/>`);
  o.series.forEach((s, i) => {
    const y = T + 16 + 18 * i;
    const color = COLORS[(s.color ?? i) % COLORS.length]!;
    out.push(`<line x1="${lx}" y1="${y - 4}" x2="${lx + 22}" y2="${y - 4}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/><text x="${lx + 28}" y="${y}">${escapeXml(label(s.name))}</text>`);
  });
  out.push('</g>');
  out.push('</svg>');
  return out.join('\n') + '\n';
}
