// `lrnn compare`: a side-by-side table of training runs (e.g. a recipe with and without allow_neg_eigval)
// from their metrics.jsonl and eval results, plus SVG plots of loss, gradient norm, per-split perplexity and
// the β > 1 / Ā < 0 share against tokens seen. Given a sweep folder (lrnn sweep), the stability map instead.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { writeComparison } from '../eval/compare.ts';
import { readRun, RunError, type RunData } from '../eval/runs.ts';
import { DEFAULT_RULES, writeStabilityMap } from '../eval/stability_map.ts';
import { SWEEP_FILE } from '../eval/sweep_index.ts';
import { type Command, numberFlag, parseFlags } from './command.ts';
import { UsageError } from './errors.ts';

export const compare: Command = {
  name: 'compare',
  summary: 'compare training runs side by side (loss, perplexity, stability) and plot them as SVG',
  usage: `Usage: lrnn compare RUN_DIR RUN_DIR ... [--out DIR] [--json]
       lrnn compare SWEEP_DIR [--out DIR] [--max-spikes N] [--json]

Each RUN_DIR is a run folder written by 'lrnn train' (checkpoints/<run>/ with metrics.jsonl). Prints one
row per metric and one column per run: final and best validation loss, perplexity and bits per byte per
split (and test figures from 'lrnn eval --out RUN_DIR/eval/...json' when present), loss-spike count,
skipped NaN/Inf steps, max and p99 gradient norm, tokens/s, and the share of β > 1 (DeltaNet) or Ā < 0
(Mamba) that allow_neg_eigval unlocks.
Writes DIR/compare.md, DIR/compare.json and SVG plots against tokens seen (loss.svg, grad_norm.svg,
ppl_<split>.svg, eig_frac.svg); DIR defaults to eval/results/compare-<run>-<run>...
--json prints compare.json's content instead of the table.
A missing run folder, a missing metrics.jsonl or a corrupt line is an error naming the folder, file and line (exit code 2).

SWEEP_DIR (a folder with sweep.json, written by 'lrnn sweep') gives the stability map: runs grouped by
setting (the grid keys other than train.lr and train.seed, e.g. allow_neg_eigval) and placed by learning
rate, each finished run judged diverged (stopped on NaN/Inf, non-finite final validation loss, or final
training loss not below its first steps'), unstable (any skipped NaN/Inf step, more than --max-spikes loss
spikes (default ${DEFAULT_RULES.maxSpikes}), or final validation loss > 10% above its own best) or stable, and per setting the largest
stable lr (every run at and below it finished stable), the first unstable lr, the best lr and the first
degraded lr (above the best, a stable run whose final validation loss is > 10% above the best). Runs not yet
finished are listed and counted, not judged. Writes DIR/stability.md (summary, lr × setting grid, one row per
run: final and best validation loss per split, NaN/Inf steps, loss spikes, max and p99 gradient norm),
DIR/stability.json, val_loss_vs_lr.svg (one curve per setting; per split: val_loss_vs_lr_<split>.svg),
grad_norm_max_vs_lr.svg and loss_lr_<lr>.svg (loss curves of every setting at one lr); DIR defaults to
SWEEP_DIR/compare.`,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { out: { type: 'string' }, 'max-spikes': { type: 'string' } }, true);
    if (positionals.length === 0) throw new UsageError('give at least one RUN_DIR (e.g. checkpoints/deltanet-small checkpoints/deltanet-small-negeig) or a SWEEP_DIR');
    const sweepDirs = positionals.filter((d) => existsSync(path.join(d, SWEEP_FILE)));
    if (sweepDirs.length && positionals.length > 1) throw new UsageError(`${sweepDirs[0]} is a sweep folder: compare it alone (lrnn compare ${sweepDirs[0]})`);
    if (values['max-spikes'] !== undefined && !sweepDirs.length) throw new UsageError('--max-spikes applies to a sweep folder only');
    if (sweepDirs.length) {
      const rules = { ...DEFAULT_RULES, maxSpikes: numberFlag('max-spikes', values['max-spikes'], DEFAULT_RULES.maxSpikes, { int: true, min: 0 }) };
      let res;
      try {
        res = writeStabilityMap(sweepDirs[0]!, values.out ?? path.join(sweepDirs[0]!, 'compare'), rules);
      } catch (e) {
        if (e instanceof RunError) throw new UsageError(e.message);
        throw e;
      }
      if (values.json) console.log(JSON.stringify({ ...res.map, files: res.files }, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)));
      else console.log(`${res.table}\n\n${res.map.runs.length - res.map.missing} of ${res.map.runs.length} runs finished\nwrote ${res.files.join(', ')}`);
      return 0;
    }
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
