// `lrnn compare`'s content: a summary per run (final/best validation loss, perplexity and bits per byte
// per split, loss spikes, gradient-norm max and p99, skipped NaN/Inf steps, tokens/s, share of β > 1 or
// Ā < 0), a side-by-side table (text and Markdown), and SVG plots against tokens seen.
// Comparisons are meaningful when runs see the same tokens per step (torchtitan's converging.md).
// Test: node scripts/test.mjs src/eval/compare
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { StepRecord } from '../log/metrics.ts';
import { lineChart, type Series } from './plot_svg.ts';
import type { RunData } from './runs.ts';
import { type Cell, markdownTable, textTable } from './table.ts';

export interface SplitSummary {
  final_loss: number | null;
  best_loss: number | null;
  final_ppl: number | null;
  best_ppl: number | null;
  final_bpb: number | null;
  /** From the newest `lrnn eval` result in <run>/eval/ (test split), when present. */
  test_ppl: number | null;
  test_bpb: number | null;
}

export interface RunSummary {
  name: string;
  dir: string;
  arch: string | null;
  allow_neg_eigval: boolean | null;
  steps: number;
  tokens_seen: number;
  status: string | null;
  /** Mean training loss of the last 10 finite steps. */
  final_train_loss: number | null;
  final_val_loss: number | null;
  best_val_loss: number | null;
  splits: Record<string, SplitSummary>;
  spikes: number;
  skipped_steps: number;
  grad_norm_max: number | null;
  grad_norm_p99: number | null;
  tokens_per_s: number | null;
  /** 'beta' (DeltaNet: share of β > 1) or 'abar' (Mamba: share of Ā < 0). */
  eig_kind: 'beta' | 'abar' | null;
  /** Mean over layers and over the last 10% of steps of the extended-range share. */
  eig_frac_final: number | null;
  /** Largest per-layer share seen in any step. */
  eig_frac_max: number | null;
  eig_min: number | null;
  eig_max: number | null;
}

/** q-quantile (0..1) by linear interpolation of sorted values; null for none. */
export function quantile(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const v = [...values].sort((a, b) => a - b);
  const pos = (v.length - 1) * q, lo = Math.floor(pos), hi = Math.ceil(pos);
  return v[lo]! + (v[hi]! - v[lo]!) * (pos - lo);
}

const finite = (xs: (number | null | undefined)[]) => xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const minOf = (xs: number[]) => (xs.length ? Math.min(...xs) : null);
const maxOf = (xs: number[]) => (xs.length ? xs.reduce((a, b) => Math.max(a, b), -Infinity) : null);

function meanFrac(s: StepRecord): number | null {
  return mean(finite((s.eig ?? []).map((e) => e.frac_ext)));
}

export function summarizeRun(run: RunData): RunSummary {
  const steps = run.steps;
  const last = steps[steps.length - 1]!;
  const losses = finite(steps.map((s) => s.loss));
  const grads = finite(steps.map((s) => s.grad_norm));
  const splitNames = [...new Set(run.evals.flatMap((e) => Object.keys(e.splits)))];
  const lastEval = run.evals[run.evals.length - 1];
  const test = run.evalFiles[run.evalFiles.length - 1];
  const splits: Record<string, SplitSummary> = {};
  for (const n of [...splitNames, ...Object.keys(test?.splits ?? {}).filter((k) => !splitNames.includes(k))]) {
    const series = run.evals.map((e) => e.splits[n]).filter((x) => x !== undefined);
    const fin = lastEval?.splits[n];
    splits[n] = {
      final_loss: fin?.loss ?? null,
      best_loss: minOf(finite(series.map((x) => x.loss))),
      final_ppl: fin?.ppl ?? null,
      best_ppl: minOf(finite(series.map((x) => x.ppl))),
      final_bpb: fin?.bpb ?? null,
      test_ppl: test?.splits[n]?.ppl ?? null,
      test_bpb: test?.splits[n]?.bpb ?? null,
    };
  }
  const tps = run.done?.perf?.mean_tokens_per_s ?? quantile(finite(steps.map((s) => s.perf?.tokens_per_s)), 0.5);
  const tail = steps.slice(Math.floor(steps.length * 0.9));
  const eigAll = steps.flatMap((s) => s.eig ?? []);
  return {
    name: run.name,
    dir: run.dir,
    arch: run.arch,
    allow_neg_eigval: run.allowNegEigval,
    steps: last.step,
    tokens_seen: last.tokens_seen,
    status: run.done?.status ?? null,
    final_train_loss: mean(losses.slice(-10)),
    final_val_loss: lastEval ? finiteOrNull(lastEval.mean_loss) : null,
    best_val_loss: minOf(finite(run.evals.map((e) => e.mean_loss))),
    splits,
    spikes: steps.filter((s) => s.spike).length,
    skipped_steps: steps.filter((s) => s.skipped).length,
    grad_norm_max: maxOf(grads),
    grad_norm_p99: quantile(grads, 0.99),
    tokens_per_s: tps ?? null,
    eig_kind: eigAll[0]?.kind ?? null,
    eig_frac_final: mean(finite(tail.map(meanFrac))),
    eig_frac_max: maxOf(finite(eigAll.map((e) => e.frac_ext))),
    eig_min: minOf(finite(eigAll.map((e) => e.min))),
    eig_max: maxOf(finite(eigAll.map((e) => e.max))),
  };
}

function finiteOrNull(x: number | null | undefined): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}

/** Rows of the side-by-side table: one metric per row, one run per column. */
export function compareRows(sums: RunSummary[]): { headers: string[]; rows: Cell[][] } {
  const headers = ['metric', ...sums.map((s) => s.name)];
  const rows: Cell[][] = [];
  const add = (label: string, f: (s: RunSummary) => Cell) => rows.push([label, ...sums.map(f)]);
  add('arch', (s) => s.arch ?? '?');
  add('allow_neg_eigval', (s) => (s.allow_neg_eigval === null ? '?' : String(s.allow_neg_eigval)));
  add('steps', (s) => s.steps);
  add('tokens seen', (s) => s.tokens_seen);
  add('status', (s) => s.status ?? 'running/unknown');
  add('final train loss (last 10 steps)', (s) => s.final_train_loss);
  add('final val loss (mean of splits)', (s) => s.final_val_loss);
  add('best val loss (mean of splits)', (s) => s.best_val_loss);
  const splitNames = [...new Set(sums.flatMap((s) => Object.keys(s.splits)))];
  for (const n of splitNames) {
    if (sums.some((s) => s.splits[n]?.final_loss != null)) {
      add(`${n}: final val loss`, (s) => s.splits[n]?.final_loss);
      add(`${n}: best val loss`, (s) => s.splits[n]?.best_loss);
      add(`${n}: final val ppl`, (s) => s.splits[n]?.final_ppl);
      add(`${n}: final val bpb`, (s) => s.splits[n]?.final_bpb);
    }
    if (sums.some((s) => s.splits[n]?.test_ppl != null)) {
      add(`${n}: test ppl (lrnn eval)`, (s) => s.splits[n]?.test_ppl);
      add(`${n}: test bpb (lrnn eval)`, (s) => s.splits[n]?.test_bpb);
    }
  }
  add('loss spikes', (s) => s.spikes);
  add('skipped NaN/Inf steps', (s) => s.skipped_steps);
  add('grad norm max', (s) => s.grad_norm_max);
  add('grad norm p99', (s) => s.grad_norm_p99);
  add('tokens/s', (s) => (s.tokens_per_s === null ? null : Math.round(s.tokens_per_s)));
  add('β>1 / Ā<0 share, last 10% of steps', (s) => (s.eig_frac_final === null ? null : `${(100 * s.eig_frac_final).toFixed(2)}% (${s.eig_kind === 'abar' ? 'Ā<0' : 'β>1'})`));
  add('β>1 / Ā<0 share, max over layers/steps', (s) => (s.eig_frac_max === null ? null : `${(100 * s.eig_frac_max).toFixed(2)}%`));
  add('β / Ā range seen [min, max]', (s) => (s.eig_min === null ? null : `[${s.eig_min.toPrecision(3)}, ${s.eig_max!.toPrecision(3)}]`));
  return { headers, rows };
}

/** Every n-th point so a plot keeps at most `max` points per series. */
function thin<T>(xs: T[], max = 1500): T[] {
  if (xs.length <= max) return xs;
  const k = Math.ceil(xs.length / max);
  return xs.filter((_, i) => i % k === 0 || i === xs.length - 1);
}

/** The SVG plots, file name → SVG text. */
export function comparePlots(runs: RunData[]): Record<string, string> {
  const out: Record<string, string> = {};
  const tok = 'tokens seen';
  const lossSeries: Series[] = [];
  runs.forEach((r, i) => {
    lossSeries.push({ name: `${r.name} train`, color: i, points: thin(r.steps).map((s) => [s.tokens_seen, s.loss ?? NaN]) });
    if (r.evals.length) lossSeries.push({ name: `${r.name} val (mean of splits)`, color: i, points: r.evals.map((e) => [e.tokens_seen, e.mean_loss ?? NaN]), markers: true, dashed: true });
  });
  out['loss.svg'] = lineChart({ title: 'Loss', xLabel: tok, yLabel: 'loss (nats/token)', series: lossSeries, logY: true });
  out['grad_norm.svg'] = lineChart({
    title: 'Gradient norm (before clipping)', xLabel: tok, yLabel: 'global grad norm', logY: true,
    series: runs.map((r) => ({ name: r.name, points: thin(r.steps).map((s): [number, number] => [s.tokens_seen, s.grad_norm ?? NaN]) })),
  });
  const splitNames = [...new Set(runs.flatMap((r) => r.evals.flatMap((e) => Object.keys(e.splits))))];
  for (const n of splitNames) {
    out[`ppl_${n.replace(/[^A-Za-z0-9._-]+/g, '_')}.svg`] = lineChart({
      title: `Validation perplexity: ${n}`, xLabel: tok, yLabel: 'perplexity', logY: true,
      series: runs.map((r) => ({ name: r.name, markers: true, points: r.evals.filter((e) => e.splits[n]).map((e): [number, number] => [e.tokens_seen, e.splits[n]!.ppl ?? NaN]) })),
    });
  }
  if (runs.some((r) => r.steps.some((s) => (s.eig ?? []).length > 0))) {
    out['eig_frac.svg'] = lineChart({
      title: 'Share of β > 1 (DeltaNet) / Ā < 0 (Mamba), mean over layers', xLabel: tok, yLabel: 'share',
      series: runs.map((r) => ({ name: r.name, points: thin(r.steps).map((s): [number, number] => [s.tokens_seen, meanFrac(s) ?? NaN]) })),
    });
  }
  return out;
}

export interface CompareOutput {
  summaries: RunSummary[];
  table: string;
  markdown: string;
  files: string[];
}

/** Summaries, tables and plots for runs; writes compare.md, compare.json and the SVGs into outDir. */
export function writeComparison(runs: RunData[], outDir: string): CompareOutput {
  const summaries = runs.map(summarizeRun);
  const { headers, rows } = compareRows(summaries);
  const table = textTable(headers, rows);
  const plots = comparePlots(runs);
  mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  for (const [name, svg] of Object.entries(plots)) {
    writeFileSync(path.join(outDir, name), svg);
    files.push(path.join(outDir, name));
  }
  const md = [
    `# Run comparison: ${runs.map((r) => r.name).join(' vs ')}`,
    '',
    markdownTable(headers, rows),
    '',
    'Loss in nats/token; ppl = exp(loss); bpb = bits per UTF-8 byte. Validation figures come from the',
    "runs' periodic evaluations (metrics.jsonl); test figures from `lrnn eval` results in <run>/eval/.",
    '',
    ...Object.keys(plots).map((f) => `![${f.replace(/\.svg$/, '')}](${f})`),
    '',
  ].join('\n');
  writeFileSync(path.join(outDir, 'compare.md'), md);
  writeFileSync(path.join(outDir, 'compare.json'), JSON.stringify({ runs: summaries }, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
  files.unshift(path.join(outDir, 'compare.md'), path.join(outDir, 'compare.json'));
  return { summaries, table, markdown: md, files };
}
