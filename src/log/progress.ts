// A one-line progress bar on stderr: step/total, a bar, loss, tokens/s and ETA, redrawn at most every
// `minIntervalMs`. Off when stderr is not a TTY (CI, pipes, files), so machine output is never garbled.
// Log lines meant for the same terminal go through `print`, which clears the bar, writes the line to
// stdout and redraws the bar: two writers never interleave on one terminal line.
// Test: node scripts/test.mjs src/log

export interface ProgressOptions {
  /** Last step of the run. */
  total: number;
  /** Step already done when the bar starts (resume); ETA counts only steps run since. */
  startStep?: number;
  /** Where the bar goes (default process.stderr). */
  stream?: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  /** Where print() writes lines (default process.stdout). */
  out?: { write(s: string): unknown };
  /** true/false forces; 'auto' (default) = stream.isTTY. */
  enabled?: boolean | 'auto';
  minIntervalMs?: number;
  /** Clock in ms (tests inject one). */
  now?: () => number;
}

export interface ProgressUpdate {
  step: number;
  loss?: number | null;
  tokensPerSec?: number;
}

/** Formats seconds as 1h02m, 3m05s or 12s. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}

/** 1234 → '1.2k', 1234567 → '1.23M'. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '?';
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(0);
}

export class ProgressBar {
  readonly enabled: boolean;
  private readonly o: Required<Omit<ProgressOptions, 'enabled'>>;
  private readonly t0: number;
  private lastDraw = -Infinity;
  private line = '';
  private last: ProgressUpdate | null = null;

  constructor(opts: ProgressOptions) {
    const stream = opts.stream ?? process.stderr;
    this.o = {
      total: opts.total, startStep: opts.startStep ?? 0, stream, out: opts.out ?? process.stdout,
      minIntervalMs: opts.minIntervalMs ?? 100, now: opts.now ?? (() => performance.now()),
    };
    this.enabled = opts.enabled === undefined || opts.enabled === 'auto' ? Boolean(stream.isTTY) : opts.enabled;
    this.t0 = this.o.now();
  }

  /** The bar's text for a state (no terminal codes). */
  render(u: ProgressUpdate): string {
    const { total, startStep } = this.o;
    const frac = total > 0 ? Math.min(1, u.step / total) : 1;
    const width = 24;
    const filled = Math.round(frac * width);
    const elapsed = (this.o.now() - this.t0) / 1000;
    const done = u.step - startStep;
    const eta = done > 0 ? (elapsed / done) * (total - u.step) : NaN;
    const parts = [
      `step ${u.step}/${total}`,
      `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`,
      `${(frac * 100).toFixed(0).padStart(3)}%`,
    ];
    if (u.loss !== undefined) parts.push(`loss ${u.loss === null || !Number.isFinite(u.loss) ? 'nan' : u.loss.toFixed(4)}`);
    if (u.tokensPerSec !== undefined) parts.push(`${formatCount(u.tokensPerSec)} tok/s`);
    parts.push(`elapsed ${formatDuration(elapsed)}`, `eta ${formatDuration(eta)}`);
    const cols = this.o.stream.columns ?? 120;
    const text = parts.join('  ');
    return text.length > cols - 1 ? text.slice(0, cols - 1) : text;
  }

  /** Records the state and redraws when the throttle allows (always on the last step). */
  update(u: ProgressUpdate): void {
    this.last = u;
    if (!this.enabled) return;
    const t = this.o.now();
    if (t - this.lastDraw < this.o.minIntervalMs && u.step < this.o.total) return;
    this.lastDraw = t;
    this.line = this.render(u);
    this.o.stream.write(`\r\x1b[2K${this.line}`);
  }

  /** Writes a log line (ending in \n) to stdout without tearing the bar. */
  print(line: string): void {
    if (this.enabled && this.line) this.o.stream.write('\r\x1b[2K');
    this.o.out.write(line);
    if (this.enabled && this.line) this.o.stream.write(this.line);
  }

  /** Leaves the final bar on its own line. */
  done(): void {
    if (!this.enabled) return;
    if (this.last) {
      this.line = this.render(this.last);
      this.o.stream.write(`\r\x1b[2K${this.line}`);
    }
    this.o.stream.write('\n');
    this.line = '';
  }
}
