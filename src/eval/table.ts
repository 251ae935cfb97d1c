// Plain-text and Markdown tables for `lrnn eval` and `lrnn compare` (numbers right-aligned, text left).

export type Cell = string | number | null | undefined;

/** Formats a number for a table: fixed digits for moderate values, exponent for tiny/huge, '—' for none. */
export function fmt(v: Cell, digits = 4): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Inf' : '-Inf';
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return v.toLocaleString('en-US');
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e7)) return v.toExponential(2);
  return v.toFixed(a >= 1000 ? 1 : digits);
}

const isNumeric = (s: string) => /^[-+]?[\d,.]+(e[-+]?\d+)?%?$|^—$|^NaN$|^-?Inf$/.test(s);

/** A text table with a header rule; numeric columns are right-aligned. */
export function textTable(headers: string[], rows: Cell[][]): string {
  const cells = rows.map((r) => r.map((c) => fmt(c)));
  const width = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const right = headers.map((_, i) => cells.length > 0 && cells.every((r) => isNumeric(r[i] ?? '—')));
  const line = (r: string[]) => r.map((c, i) => (right[i] ? c.padStart(width[i]!) : c.padEnd(width[i]!))).join('  ').trimEnd();
  return [line(headers), width.map((w) => '─'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

/** The same table as GitHub Markdown. */
export function markdownTable(headers: string[], rows: Cell[][]): string {
  const cells = rows.map((r) => r.map((c) => fmt(c).replace(/\|/g, '\\|')));
  const right = headers.map((_, i) => cells.length > 0 && cells.every((r) => isNumeric(r[i] ?? '—')));
  return [
    `| ${headers.join(' | ')} |`,
    `|${right.map((r) => (r ? '---:' : ':---')).join('|')}|`,
    ...cells.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}
