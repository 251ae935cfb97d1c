// `lrnn compare`: a side-by-side table of training runs (e.g. a recipe with and without allow_neg_eigval)
// from their metrics.jsonl and eval results, plus SVG plots of loss, gradient norm, per-split perplexity and
// the β > 1 / Ā < 0 share against tokens seen.
import path from 'node:path';
import { writeComparison } from '../eval/compare.ts';
import { readRun, RunError, type RunData } from '../eval/runs.ts';
import { type Command, parseFlags } from './command.ts';
import { UsageError } from './errors.ts';

export const compare: Command = {
  name: 'compare',
  summary: 'compare training runs side by side (loss, perplexity, stability) and plot them as SVG',
  usage: `Usage: lrnn compare RUN_DIR RUN_DIR ... [--out DIR] [--json]

Each RUN_DIR is a run folder written by 'lrnn train' (checkpoints/<run>/ with metrics.jsonl). Prints one
row per metric and one column per run: final and best validation loss, perplexity and bits per byte per
split (and test figures from 'lrnn eval --out RUN_DIR/eval/...json' when present), loss-spike count,
skipped NaN/Inf steps, max and p99 gradient norm, tokens/s, and the share of β > 1 (DeltaNet) or Ā < 0
(Mamba) that allow_neg_eigval unlocks.
Writes DIR/compare.md, DIR/compare.json and SVG plots against tokens seen (loss.svg, grad_norm.svg,
ppl_<split>.svg, eig_frac.svg); DIR defaults to eval/results/compare-<run>-<run>...
--json prints compare.json's content instead of the table.
A missing run folder, a missing metrics.jsonl or a corrupt line is an error naming the folder, file and line (exit code 2).`,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { out: { type: 'string' } }, true);
    if (positionals.length === 0) throw new UsageError('give at least one RUN_DIR (e.g. checkpoints/deltanet-small checkpoints/deltanet-small-negeig)');
    let runs: RunData[];
    try {
      runs = positionals.map((d) => readRun(d));
    } catch (e) {
      if (e instanceof RunError) throw new UsageError(e.message);
      throw e;
    }
    const out = values.out ?? path.join('eval', 'results', `compare-${runs.map((r) => r.name).join('-')}`.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 120));
    const res = writeComparison(runs, out);
    for (const r of runs) for (const w of r.warnings) console.error(`warning: ${w}`);
    if (values.json) console.log(JSON.stringify({ runs: res.summaries, files: res.files }, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)));
    else console.log(`${res.table}\n\nwrote ${res.files.join(', ')}`);
    return 0;
  },
};
