// `lrnn compare <sweep dir>`: the stability map of a learning-rate sweep. Runs are grouped by setting (the
// sweep's grid keys other than train.lr and train.seed, e.g. allow_neg_eigval=true) and placed by learning
// rate; each finished run gets a verdict and each setting its largest stable learning rate.
//
// Verdict of a finished run (the rule the report prints):
//   diverged  stopped on NaN/Inf (train.max_nonfinite_steps), or a non-finite final validation loss, or a
//             final training loss (mean of the last 10 steps) at or above its first 10 steps' mean (for
//             runs under 20 steps, half the steps each)
//   unstable  otherwise, any skipped NaN/Inf step, more than maxSpikes loss spikes, or a final validation
//             loss more than 10 % above the run's own best (it got worse late)
//   stable    otherwise ("degraded" is noted when its final validation loss is more than 10 % above the
//             setting's best run, a quality note that does not change the verdict)
// The largest stable lr of a setting is the largest lr at and below which every run of that setting is
// finished and stable: the edge of the stable region seen from small learning rates. Its first degraded lr
// is the smallest lr above the best one with a degraded run: where a learning rate too large costs quality
// before it costs stability (a grid can end there without any run diverging).
// Test: node scripts/test.mjs src/eval/stability_map
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { summarizeRun, type RunSummary } from './compare.ts';
import { lineChart, type Series } from './plot_svg.ts';
import { METRICS_FILE, readRun, RunError, type RunData } from './runs.ts';
import { readSweepIndex, type SweepIndex } from './sweep_index.ts';
import { type Cell, fmt, markdownTable, textTable } from './table.ts';

export type Verdict = 'stable' | 'unstable' | 'diverged';

export interface StabilityRules {
  /** Loss spikes a stable run may have. */
  maxSpikes: number;
  /** Relative excess of the final over the best validation loss that makes a run unstable (late blow-up). */
  lateRise: number;
  /** Relative excess over the setting's best final validation loss that marks a run degraded. */
  degrade: number;
}

export const DEFAULT_RULES: StabilityRules = { maxSpikes: 2, lateRise: 0.1, degrade: 0.1 };

/**
 * What a run's row carries both here (MapRun, stability.json) and in the lm-stability report's twin
 * (ReportRun in stability_report.ts, eval/reports/lm-stability.json): one list, so the two cannot drift.
 */
export interface RunMeasures {
  seed: number | null;
  tokens_seen: number | null;
  /** completed / stopped_nonfinite / interrupted / failed / incomplete (no done record yet) / missing; the report adds 'not started'. */
  status: string;
  verdict: Verdict | null;
  /** Why the verdict is not 'stable' (empty when it is). */
  why: string[];
  final_val_loss: Record<string, number | null>;
  best_val_loss: Record<string, number | null>;
  test_ppl: Record<string, number | null>;
  test_bpb: Record<string, number | null>;
  nonfinite_count: number | null;
  spike_count: number | null;
  grad_norm_max: number | null;
  grad_norm_p99: number | null;
  tokens_per_s: number | null;
  /** Seconds of training and evaluation, summed over the run's steps and evaluations (resumes included). */
  train_wall_s: number | null;
  /** Parameter count, from the run's train.log 'starting' line. */
  params: number | null;
}

/** The measures of a run with no metrics yet (not started, missing, failed before its first step). */
export function emptyMeasures(status: string): RunMeasures {
  return {
    seed: null, tokens_seen: null, status, verdict: null, why: [], final_val_loss: {}, best_val_loss: {}, test_ppl: {}, test_bpb: {},
    nonfinite_count: null, spike_count: null, grad_norm_max: null, grad_norm_p99: null, tokens_per_s: null, train_wall_s: null, params: null,
  };
}

/** Only the RunMeasures fields of a row (a MapRun carries more). */
export function measuresOf(r: RunMeasures): RunMeasures {
  return {
    seed: r.seed, tokens_seen: r.tokens_seen, status: r.status, verdict: r.verdict, why: r.why, final_val_loss: r.final_val_loss, best_val_loss: r.best_val_loss,
    test_ppl: r.test_ppl, test_bpb: r.test_bpb, nonfinite_count: r.nonfinite_count, spike_count: r.spike_count, grad_norm_max: r.grad_norm_max,
    grad_norm_p99: r.grad_norm_p99, tokens_per_s: r.tokens_per_s, train_wall_s: r.train_wall_s, params: r.params,
  };
}

/** One run of the sweep: the shared measures plus what the map needs. */
export interface MapRun extends RunMeasures {
  name: string;
  dir: string;
  setting: string;
  /** Grid overrides of the run (key → value). */
  overrides: Record<string, unknown>;
  arch: string | null;
  allow_neg_eigval: boolean | null;
  lr: number | null;
  steps: number | null;
  /** train.steps of the recipe, for "how far along". */
  steps_planned: number | null;
  finished: boolean;
  degraded: boolean;
  /** Mean over splits of the last evaluation. */
  final_val_loss_mean: number | null;
  best_val_loss_mean: number | null;
  /** Mean training loss of the first and of the last k finite steps (k = 10, or half the steps when fewer). */
  early_train_loss: number | null;
  final_train_loss: number | null;
  eig_kind: 'beta' | 'abar' | null;
  eig_frac_final: number | null;
  eig_frac_max: number | null;
}

export interface SettingMap {
  setting: string;
  runs: number;
  finished: number;
  /** Learning rates of the setting, ascending. */
  lrs: number[];
  largest_stable_lr: number | null;
  /** Smallest lr with a finished run that is not stable. */
  first_unstable_lr: number | null;
  /** Smallest lr above best_lr with a degraded run (stable, final validation loss past the setting's best + degrade). */
  first_degraded_lr: number | null;
  /** Lowest mean final validation loss and its lr. */
  best_lr: number | null;
  best_final_val_loss: number | null;
  /** Why the edge is not known further (e.g. unfinished runs above the largest stable lr). */
  note: string | null;
}

export interface StabilityMap {
  sweep: string;
  recipe: string;
  rules: StabilityRules;
  splits: string[];
  settings: SettingMap[];
  runs: MapRun[];
  missing: number;
}

const finite = (x: number | null | undefined): x is number => typeof x === 'number' && Number.isFinite(x);
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/** Settings label of a run: its grid overrides other than lr and seed. */
export function settingLabel(overrides: Record<string, unknown>): string {
  const parts = Object.entries(overrides).filter(([k]) => k !== 'train.lr' && k !== 'train.seed').map(([k, v]) => {
    const short = k.split('.').pop()!;
    return short === 'allow_neg_eigval' ? `allow_neg_eigval=${v} (${v ? '[-1,1]' : '[0,1]'})` : `${short}=${typeof v === 'string' ? v : JSON.stringify(v)}`;
  });
  return parts.length ? parts.join(', ') : 'all runs';
}

/** Verdict and reasons for a finished run (see the header). */
export function judgeRun(r: Pick<MapRun, 'status' | 'final_val_loss_mean' | 'best_val_loss_mean' | 'early_train_loss' | 'final_train_loss' | 'nonfinite_count' | 'spike_count'>, hasEvals: boolean, rules = DEFAULT_RULES): { verdict: Verdict; why: string[] } {
  const dWhy: string[] = [];
  if (r.status === 'stopped_nonfinite') dWhy.push(`stopped after ${r.nonfinite_count} NaN/Inf steps`);
  if (hasEvals && !finite(r.final_val_loss_mean)) dWhy.push('final validation loss not finite');
  if (finite(r.early_train_loss) && (!finite(r.final_train_loss) || r.final_train_loss >= r.early_train_loss)) {
    dWhy.push(`final train loss ${fmt(r.final_train_loss)} ≥ first steps' ${fmt(r.early_train_loss)}`);
  }
  if (dWhy.length) return { verdict: 'diverged', why: dWhy };
  const why: string[] = [];
  if ((r.nonfinite_count ?? 0) > 0) why.push(`${r.nonfinite_count} skipped NaN/Inf steps`);
  if ((r.spike_count ?? 0) > rules.maxSpikes) why.push(`${r.spike_count} loss spikes (> ${rules.maxSpikes})`);
  if (finite(r.final_val_loss_mean) && finite(r.best_val_loss_mean) && r.final_val_loss_mean > r.best_val_loss_mean * (1 + rules.lateRise)) {
    why.push(`final val loss ${fmt(r.final_val_loss_mean)} > best ${fmt(r.best_val_loss_mean)} + ${rules.lateRise * 100}%`);
  }
  return { verdict: why.length ? 'unstable' : 'stable', why };
}

/** The largest lr at and below which every run is finished and stable; null when the smallest is not. */
export function largestStableLr(runs: Pick<MapRun, 'lr' | 'finished' | 'verdict'>[]): { lr: number | null; blockedBy: 'unstable' | 'unfinished' | null } {
  const lrs = [...new Set(runs.map((r) => r.lr).filter(finite))].sort((a, b) => a - b);
  let best: number | null = null;
  for (const lr of lrs) {
    const at = runs.filter((r) => r.lr === lr);
    if (at.some((r) => !r.finished)) return { lr: best, blockedBy: 'unfinished' };
    if (at.some((r) => r.verdict !== 'stable')) return { lr: best, blockedBy: 'unstable' };
    best = lr;
  }
  return { lr: best, blockedBy: null };
}

/** The smallest lr above bestLr with a finished degraded run, or null. */
export function firstDegradedLr(runs: Pick<MapRun, 'lr' | 'finished' | 'degraded'>[], bestLr: number | null): number | null {
  if (bestLr === null) return null;
  const lrs = runs.filter((r) => r.finished && r.degraded && r.lr !== null && r.lr > bestLr).map((r) => r.lr!);
  return lrs.length ? Math.min(...lrs) : null;
}

function tomlNumber(t: Record<string, unknown> | null, section: string, key: string): number | null {
  const s = t?.[section];
  const v = typeof s === 'object' && s !== null ? (s as Record<string, unknown>)[key] : undefined;
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : null;
}

/** The parameter count lrnn train logged when the run started (first 64 kB of train.log), or null. */
function readParams(runDir: string): number | null {
  const f = path.join(runDir, 'train.log');
  if (!existsSync(f)) return null;
  const fd = openSync(f, 'r');
  try {
    const buf = Buffer.alloc(65536);
    const head = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
    const m = /"params":(\d+)/.exec(head);
    return m ? Number(m[1]) : null;
  } finally {
    closeSync(fd);
  }
}

function readResolved(runDir: string): Record<string, unknown> | null {
  const f = path.join(runDir, 'config.resolved.toml');
  if (!existsSync(f)) return null;
  try {
    return parseToml(readFileSync(f, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new RunError(`${f}: cannot parse (${(e as Error).message.split('\n')[0]})`);
  }
}

/** A run's row from its folder (null data = no metrics yet). */
function mapRun(entry: SweepIndex['runs'][number], runDir: string, data: RunData | null, indexStatus: string): Omit<MapRun, 'verdict' | 'why' | 'degraded'> & { hasEvals: boolean } {
  const cfg = readResolved(runDir);
  const ov = entry.overrides;
  const lr = tomlNumber(cfg, 'train', 'lr') ?? (typeof ov['train.lr'] === 'number' ? ov['train.lr'] : null);
  const seed = tomlNumber(cfg, 'train', 'seed') ?? (typeof ov['train.seed'] === 'number' ? ov['train.seed'] : null);
  const base = {
    name: entry.name, dir: runDir, setting: settingLabel(ov), overrides: ov, lr, seed, steps_planned: tomlNumber(cfg, 'train', 'steps'), params: readParams(runDir),
  };
  if (!data) {
    return {
      ...emptyMeasures(indexStatus === 'failed' ? 'failed' : 'missing'), ...base, arch: typeof ov['model.arch'] === 'string' ? ov['model.arch'] : null, allow_neg_eigval: typeof ov['model.allow_neg_eigval'] === 'boolean' ? ov['model.allow_neg_eigval'] : null,
      steps: null, finished: false, final_val_loss_mean: null, best_val_loss_mean: null, early_train_loss: null, final_train_loss: null,
      eig_kind: null, eig_frac_final: null, eig_frac_max: null, hasEvals: false,
    };
  }
  const s: RunSummary = summarizeRun(data);
  const status = s.status ?? (indexStatus === 'failed' ? 'failed' : 'incomplete');
  const pick = (f: (x: RunSummary['splits'][string]) => number | null) => Object.fromEntries(Object.entries(s.splits).map(([k, v]) => [k, f(v)]));
  // First and last k finite losses (k = 10, fewer for short runs so the two never overlap).
  const losses = data.steps.map((x) => x.loss).filter(finite);
  const k = Math.min(10, Math.floor(losses.length / 2));
  const early = k ? mean(losses.slice(0, k)) : null, late = k ? mean(losses.slice(-k)) : null;
  const wall = data.steps.reduce((a, x) => a + (x.perf?.step_s ?? 0), 0) + data.evals.reduce((a, e) => a + (e.perf?.eval_s ?? 0), 0);
  const lastStep = data.steps.at(-1)!;
  return {
    ...base, arch: s.arch, allow_neg_eigval: s.allow_neg_eigval, steps: s.steps, tokens_seen: s.tokens_seen, status,
    finished: status === 'completed' || status === 'stopped_nonfinite',
    final_val_loss: pick((x) => x.final_loss), best_val_loss: pick((x) => x.best_loss),
    final_val_loss_mean: s.final_val_loss, best_val_loss_mean: s.best_val_loss,
    test_ppl: pick((x) => x.test_ppl), test_bpb: pick((x) => x.test_bpb),
    nonfinite_count: data.done?.nonfinite_count ?? lastStep.nonfinite_count ?? s.skipped_steps,
    spike_count: data.done?.spike_count ?? lastStep.spike_count ?? s.spikes,
    grad_norm_max: s.grad_norm_max, grad_norm_p99: s.grad_norm_p99, early_train_loss: early, final_train_loss: late,
    tokens_per_s: s.tokens_per_s, train_wall_s: Math.round(wall), eig_kind: s.eig_kind, eig_frac_final: s.eig_frac_final, eig_frac_max: s.eig_frac_max,
    hasEvals: data.evals.length > 0,
  };
}

/** Reads a sweep folder (sweep.json + run folders) into the map and the runs' data (for the plots). */
export function readSweepMap(dir: string, rules = DEFAULT_RULES): { map: StabilityMap; data: Map<string, RunData> } {
  const index = readSweepIndex(dir);
  if (!index) throw new RunError(`${dir}: no sweep.json (not a folder written by 'lrnn sweep')`);
  const data = new Map<string, RunData>();
  const rows = index.runs.map((e) => {
    const runDir = path.join(dir, e.dir);
    let d: RunData | null = null;
    if (existsSync(path.join(runDir, METRICS_FILE))) {
      try {
        d = readRun(runDir);
      } catch (err) {
        if (!(err instanceof RunError && /no 'step' records/.test(err.message))) throw err;
      }
    }
    if (d) data.set(e.name, d);
    return mapRun(e, runDir, d, e.status);
  });
  const runs: MapRun[] = rows.map(({ hasEvals, ...r }) => {
    if (!r.finished) return { ...r, verdict: null, why: [], degraded: false };
    const j = judgeRun(r, hasEvals, rules);
    return { ...r, verdict: j.verdict, why: j.why, degraded: false };
  });
  const settings: SettingMap[] = [...new Set(runs.map((r) => r.setting))].map((setting) => {
    const rs = runs.filter((r) => r.setting === setting);
    const lrs = [...new Set(rs.map((r) => r.lr).filter(finite))].sort((a, b) => a - b);
    const byLr = lrs.map((lr) => ({ lr, loss: mean(rs.filter((r) => r.lr === lr && r.finished).map((r) => r.final_val_loss_mean).filter(finite)) }));
    const best = byLr.filter((x) => finite(x.loss)).sort((a, b) => a.loss! - b.loss!)[0];
    for (const r of rs) r.degraded = r.verdict === 'stable' && !!best && finite(r.final_val_loss_mean) && r.final_val_loss_mean > best.loss! * (1 + rules.degrade);
    const edge = largestStableLr(rs);
    const unstable = lrs.find((lr) => rs.some((r) => r.lr === lr && r.finished && r.verdict !== 'stable')) ?? null;
    const degraded = firstDegradedLr(rs, best?.lr ?? null);
    const finishedN = rs.filter((r) => r.finished).length;
    return {
      setting, runs: rs.length, finished: finishedN, lrs, largest_stable_lr: edge.lr, first_unstable_lr: unstable, first_degraded_lr: degraded,
      best_lr: best?.lr ?? null, best_final_val_loss: best?.loss ?? null,
      note: edge.blockedBy === 'unfinished' ? `runs at lr ${fmtLr(lrs.find((lr) => rs.some((r) => r.lr === lr && !r.finished))!)} not finished: the edge may lie higher`
        : edge.blockedBy === null && lrs.length ? (degraded === null ? 'stable at every lr tried: the edge lies higher'
          : `stable at every lr tried, degraded from ${fmtLr(degraded)}: no divergence up to ${fmtLr(lrs[lrs.length - 1]!)}`) : null,
    };
  });
  const splits = [...new Set(runs.flatMap((r) => Object.keys(r.final_val_loss)))];
  return { map: { sweep: dir, recipe: index.recipe, rules, splits, settings, runs, missing: runs.filter((r) => !r.finished).length }, data };
}

/** 0.003 → '3e-3'. */
export const fmtLr = (lr: number | null) => (lr === null ? '—' : Number(lr.toPrecision(3)).toExponential().replace('e+', 'e'));

const VERDICT_MARK: Record<Verdict, string> = { stable: 'stable', unstable: 'UNSTABLE', diverged: 'DIVERGED' };

function runCell(r: MapRun): string {
  if (!r.finished) return r.status === 'missing' ? 'not run' : `${r.status}${r.steps != null && r.steps_planned ? ` (${r.steps}/${r.steps_planned})` : ''}`;
  const loss = finite(r.final_val_loss_mean) ? r.final_val_loss_mean.toFixed(4) : '—';
  return `${loss} ${VERDICT_MARK[r.verdict!]}${r.degraded ? ' (degraded)' : ''}`;
}

/** The map as tables: one summary row per setting, the lr × setting grid, and a row per run. */
export function mapTables(map: StabilityMap): { summary: [string[], Cell[][]]; grid: [string[], Cell[][]]; runs: [string[], Cell[][]] } {
  const summary: [string[], Cell[][]] = [
    ['setting', 'largest stable lr', 'first unstable lr', 'first degraded lr', 'best lr (final val loss)', 'finished', 'note'],
    map.settings.map((s) => [s.setting, fmtLr(s.largest_stable_lr), fmtLr(s.first_unstable_lr), fmtLr(s.first_degraded_lr),
      s.best_lr === null ? '—' : `${fmtLr(s.best_lr)} (${fmt(s.best_final_val_loss)})`, `${s.finished}/${s.runs}`, s.note ?? '']),
  ];
  const lrs = [...new Set(map.runs.map((r) => r.lr).filter(finite))].sort((a, b) => a - b);
  const grid: [string[], Cell[][]] = [
    ['lr', ...map.settings.map((s) => s.setting)],
    lrs.map((lr) => [fmtLr(lr), ...map.settings.map((s) => map.runs.filter((r) => r.setting === s.setting && r.lr === lr).map(runCell).join('; ') || '—')]),
  ];
  const runs: [string[], Cell[][]] = [
    ['run', 'setting', 'lr', 'seed', 'status', 'verdict', 'tokens seen', 'final val loss', ...map.splits.flatMap((sp) => [`${sp} final`, `${sp} best`]),
      'NaN/Inf steps', 'loss spikes', 'grad norm max', 'grad norm p99', 'why'],
    [...map.runs].sort((a, b) => a.setting.localeCompare(b.setting) || (a.lr ?? 0) - (b.lr ?? 0) || (a.seed ?? 0) - (b.seed ?? 0)).map((r) => [
      r.name, r.setting, fmtLr(r.lr), r.seed === null ? null : String(r.seed), r.status, r.verdict ?? '—', r.tokens_seen, r.final_val_loss_mean,
      ...map.splits.flatMap((sp) => [r.final_val_loss[sp] ?? null, r.best_val_loss[sp] ?? null]),
      r.nonfinite_count, r.spike_count, r.grad_norm_max, r.grad_norm_p99, [...r.why, ...(r.degraded ? ['degraded'] : [])].join('; '),
    ]),
  ];
  return { summary, grid, runs };
}

export const RULES_TEXT = (rules: StabilityRules) =>
  `A finished run is **diverged** if it stopped on NaN/Inf (train.max_nonfinite_steps), its final validation loss is not finite, or its final training loss (mean of the last 10 steps) is at or above the mean of its first 10 (half the steps each for runs under 20 steps); **unstable** if it has any skipped NaN/Inf step, more than ${rules.maxSpikes} loss spikes, or a final validation loss more than ${rules.lateRise * 100}% above its own best; **stable** otherwise (noted *degraded* when its final validation loss is more than ${rules.degrade * 100}% above the setting's best). The largest stable lr is the largest lr at and below which every run of the setting finished stable; the first degraded lr is the smallest lr above the setting's best with a degraded run.`;

const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '');

/** The plots: validation loss vs lr (one curve per setting; overall and per split), grad-norm max vs lr, loss curves per lr. */
export function mapPlots(map: StabilityMap, data: Map<string, RunData>): Record<string, string> {
  const out: Record<string, string> = {};
  const per = (f: (r: MapRun) => number | null, dashed = false, suffix = ''): Series[] => map.settings.map((s, i) => ({
    name: `${s.setting}${suffix}`, color: i, markers: true, dashed,
    points: s.lrs.map((lr): [number, number] => [lr, mean(map.runs.filter((r) => r.setting === s.setting && r.lr === lr && r.finished).map(f).filter(finite)) ?? NaN]),
  }));
  out['val_loss_vs_lr.svg'] = lineChart({
    title: 'Final validation loss (mean of splits) vs learning rate; dashed: best', xLabel: 'peak learning rate', yLabel: 'loss (nats/token)', logX: true,
    series: [...per((r) => r.final_val_loss_mean), ...per((r) => r.best_val_loss_mean, true, ' (best)')],
  });
  for (const sp of map.splits) {
    out[`val_loss_vs_lr_${safe(sp)}.svg`] = lineChart({
      title: `Final validation loss: ${sp} vs learning rate`, xLabel: 'peak learning rate', yLabel: 'loss (nats/token)', logX: true,
      series: per((r) => r.final_val_loss[sp] ?? null),
    });
  }
  out['grad_norm_max_vs_lr.svg'] = lineChart({
    title: 'Max gradient norm (before clipping) vs learning rate', xLabel: 'peak learning rate', yLabel: 'grad norm', logX: true, logY: true,
    series: per((r) => r.grad_norm_max),
  });
  const lrs = [...new Set(map.runs.map((r) => r.lr).filter(finite))].sort((a, b) => a - b);
  for (const lr of lrs) {
    const series: Series[] = [];
    map.settings.forEach((s, i) => {
      for (const r of map.runs.filter((x) => x.setting === s.setting && x.lr === lr)) {
        const d = data.get(r.name);
        if (!d) continue;
        const label = `${s.setting}${r.seed !== null && map.runs.some((x) => x.seed !== r.seed) ? ` seed ${r.seed}` : ''}`;
        const k = Math.ceil(d.steps.length / 1500);
        series.push({ name: `${label} train`, color: i, points: d.steps.filter((_, j) => j % k === 0).map((x) => [x.tokens_seen, x.loss ?? NaN]) });
        if (d.evals.length) series.push({ name: `${label} val`, color: i, dashed: true, markers: true, points: d.evals.map((e) => [e.tokens_seen, e.mean_loss ?? NaN]) });
      }
    });
    if (series.length) out[`loss_lr_${fmtLr(lr)}.svg`] = lineChart({ title: `Loss at lr ${fmtLr(lr)}`, xLabel: 'tokens seen', yLabel: 'loss (nats/token)', logY: true, series });
  }
  return out;
}

/** The map as Markdown (figures referenced relative to the Markdown file by `figDir`). */
export function mapMarkdown(map: StabilityMap, figures: string[], heading = '#'): string {
  const t = mapTables(map);
  return [
    `${heading} Stability map: ${map.sweep}`,
    '',
    `Recipe ${map.recipe}; ${map.runs.length - map.missing} of ${map.runs.length} runs finished${map.missing ? ` (${map.missing} missing or unfinished: the map covers what has finished)` : ''}.`,
    '',
    markdownTable(...t.summary),
    '',
    'Final validation loss (mean of splits) and verdict per learning rate:',
    '',
    markdownTable(...t.grid),
    '',
    RULES_TEXT(map.rules),
    '',
    markdownTable(...t.runs),
    '',
    ...figures.map((f) => `![${path.basename(f, '.svg')}](${f})`),
    '',
  ].join('\n');
}

const jsonNumbers = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v);

/** Writes stability.md, stability.json and the SVGs into outDir; returns the map, a text table and the files. */
export function writeStabilityMap(dir: string, outDir: string, rules = DEFAULT_RULES): { map: StabilityMap; table: string; files: string[] } {
  const { map, data } = readSweepMap(dir, rules);
  mkdirSync(outDir, { recursive: true });
  const plots = mapPlots(map, data);
  const files: string[] = [];
  for (const [name, svg] of Object.entries(plots)) {
    writeFileSync(path.join(outDir, name), svg);
    files.push(path.join(outDir, name));
  }
  writeFileSync(path.join(outDir, 'stability.md'), mapMarkdown(map, Object.keys(plots)));
  writeFileSync(path.join(outDir, 'stability.json'), JSON.stringify(map, jsonNumbers, 2) + '\n');
  files.unshift(path.join(outDir, 'stability.md'), path.join(outDir, 'stability.json'));
  const t = mapTables(map);
  const table = [textTable(...t.summary), '', textTable(...t.grid)].join('\n');
  return { map, table, files };
}
