// eval/reports/lm-stability.md and its machine-readable twin lm-stability.json: one learning-rate sweep per
// architecture ([0,1] vs [-1,1] eigenvalues × learning rates), each read as a stability map
// (stability_map.ts), with the per-split test perplexity at each run's end, the extended range's use, wall
// time, and the paper's language-modelling claims (docs/paper-notes.md §5.6) beside what the runs show.
// Built from whatever runs have finished; the rest are listed as missing. Written by
// scripts/repro-lm-stability.mjs (`npm run repro:lm-stability`).
// Test: node scripts/test.mjs src/eval/stability_report
import { emptyMeasures, fmtLr, mapTables, measuresOf, RULES_TEXT, type RunMeasures, type SettingMap, type StabilityMap } from './stability_map.ts';
import { type Cell, fmt, markdownTable } from './table.ts';

export interface ArchSweep {
  arch: 'deltanet' | 'mamba';
  /** e.g. 'DeltaNet'. */
  label: string;
  sweepDir: string;
  recipe: string;
  /** Null when the sweep has not started (no sweep.json). */
  map: StabilityMap | null;
  /** The grid the report expects: every (lr, allow_neg_eigval, seed). */
  planned: { lr: number; allow_neg_eigval: boolean; seed: number | null }[];
  /** SVG files relative to the report. */
  figures: string[];
}

export interface ReportMeta {
  /** How the runs were made (recipes, grid, machine), one line each. */
  setup: string[];
  generated: string;
  /** The command that regenerates the report (and continues the runs). */
  command: string;
}

/** One object per planned run: the twin's `runs` (the map's measures plus the planned grid point). */
export interface ReportRun extends RunMeasures {
  arch: string;
  allow_neg_eigval: boolean;
  lr: number;
  name: string | null;
  /** β > 1 (DeltaNet) / Ā < 0 (Mamba) share over the last 10 % of steps, and its maximum. */
  ext_share_final: number | null;
  ext_share_max: number | null;
}

const sameLr = (a: number | null, b: number) => a !== null && Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(b), 1e-30);

/** The planned runs of a sweep matched to its map's runs (absent ones as 'not started'). */
export function reportRuns(s: ArchSweep): ReportRun[] {
  return s.planned.map((p) => {
    const r = s.map?.runs.find((x) => sameLr(x.lr, p.lr) && (x.allow_neg_eigval ?? x.overrides['model.allow_neg_eigval']) === p.allow_neg_eigval && (p.seed === null || x.seed === p.seed));
    const at = { arch: s.arch, allow_neg_eigval: p.allow_neg_eigval, lr: p.lr };
    if (!r) return { ...at, name: null, ...emptyMeasures('not started'), seed: p.seed, ext_share_final: null, ext_share_max: null };
    return { ...at, name: r.name, ...measuresOf(r), ext_share_final: r.eig_frac_final, ext_share_max: r.eig_frac_max };
  });
}

const finished = (r: ReportRun) => r.status === 'completed' || r.status === 'stopped_nonfinite';
const pct = (a: number, b: number) => `${a >= b ? '+' : ''}${(((a - b) / b) * 100).toFixed(1)}%`;
const meanOf = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/** A setting's largest stable lr, with the first degraded lr when quality broke down before stability did. */
const edgeText = (x: SettingMap) => `${fmtLr(x.largest_stable_lr)}${x.first_degraded_lr !== null ? ` (degraded from ${fmtLr(x.first_degraded_lr)})` : ''}${x.note && x.first_degraded_lr === null ? ' (edge not reached)' : ''}`;

/** [claim, paper, these runs, agrees] rows for one architecture. */
export function claimRows(s: ArchSweep): string[][] {
  const runs = reportRuns(s);
  const lrs = [...new Set(runs.map((r) => r.lr))].sort((a, b) => a - b);
  /** Pairs at one lr (and seed) with both runs finished. */
  const pairs = lrs.flatMap((lr) => runs.filter((r) => r.lr === lr && !r.allow_neg_eigval && finished(r)).flatMap((b) => {
    const n = runs.find((r) => r.lr === lr && r.allow_neg_eigval && r.seed === b.seed && finished(r));
    return n ? [{ lr, base: b, neg: n }] : [];
  }));
  const rows: string[][] = [];
  const none = 'no finished pair yet';

  const baseStable = pairs.filter((p) => p.base.verdict === 'stable');
  const broke = baseStable.filter((p) => p.neg.verdict !== 'stable');
  const negOnly = pairs.filter((p) => p.base.verdict !== 'stable' && p.neg.verdict === 'stable');
  rows.push([
    'trains stably at the same learning rate',
    'yes, at the paper\'s one lr (3e-4 at 340M–1.3B), "without changing the learning rate"',
    baseStable.length === 0 ? (pairs.length ? 'no lr where [0,1] is stable' : none)
      : `[-1,1] stable at ${baseStable.length - broke.length} of the ${baseStable.length} lrs where [0,1] is${broke.length ? ` (not at ${broke.map((p) => fmtLr(p.lr)).join(', ')}: ${broke.map((p) => p.neg.verdict).join(', ')})` : ''}${negOnly.length ? `; stable where [0,1] is not at ${negOnly.map((p) => fmtLr(p.lr)).join(', ')}` : ''}`,
    baseStable.length === 0 ? '—' : broke.length ? 'no' : 'yes',
  ]);
  const sm = s.map?.settings ?? [];
  const edge = (neg: boolean) => sm.find((x) => x.setting.startsWith(`allow_neg_eigval=${neg}`));
  const eb = edge(false), en = edge(true);
  rows.push([
    'largest stable learning rate',
    'not measured (one lr per model)',
    eb && en ? `[0,1] ${edgeText(eb)}, [-1,1] ${edgeText(en)}` : none,
    '—',
  ]);
  if (eb?.best_final_val_loss != null && en?.best_final_val_loss != null) {
    const a = Math.exp(en.best_final_val_loss), b = Math.exp(eb.best_final_val_loss);
    rows.push([
      'comparable validation perplexity',
      'comparable, slightly worse for [-1,1]',
      `at each setting's best lr: exp(mean val loss) ${fmt(a)} ([-1,1], lr ${fmtLr(en.best_lr)}) vs ${fmt(b)} ([0,1], lr ${fmtLr(eb.best_lr)}), ${pct(a, b)}`,
      Math.abs(a - b) / b <= 0.05 ? 'yes (within 5%)' : 'no (differs by more than 5%)',
    ]);
  } else rows.push(['comparable validation perplexity', 'comparable, slightly worse for [-1,1]', none, '—']);
  const both = pairs.filter((p) => p.base.verdict === 'stable' && p.neg.verdict === 'stable');
  for (const split of ['code', 'math']) {
    const cmp = both.filter((p) => p.base.test_ppl[split] != null && p.neg.test_ppl[split] != null);
    if (!cmp.length) continue;
    const lower = cmp.filter((p) => p.neg.test_ppl[split]! < p.base.test_ppl[split]!);
    const paper = s.arch === 'deltanet' ? 'lower for [-1,1] (Fig. 5)' : 'higher for [-1,1] (Fig. 10)';
    const want = s.arch === 'deltanet' ? lower.length : cmp.length - lower.length;
    rows.push([
      `${split} test perplexity with [-1,1]`, paper,
      `lower at ${lower.length} of ${cmp.length} lrs where both are stable (${cmp.map((p) => `${fmtLr(p.lr)}: ${fmt(p.neg.test_ppl[split])} vs ${fmt(p.base.test_ppl[split])}`).join('; ')})`,
      want * 2 > cmp.length ? 'yes' : want * 2 === cmp.length ? 'split' : 'no',
    ]);
  }
  const negRuns = runs.filter((r) => r.allow_neg_eigval && finished(r) && r.ext_share_final !== null);
  const share = meanOf(negRuns.map((r) => r.ext_share_final!));
  rows.push([
    `the extended range is used (${s.arch === 'deltanet' ? 'β > 1' : 'Ā < 0'})`,
    'implied (the flag only matters if used)',
    share === null ? 'no telemetry yet' : `${(share * 100).toFixed(2)}% of values over the last 10% of steps, mean of ${negRuns.length} [-1,1] runs (${negRuns.map((r) => `${fmtLr(r.lr)}: ${(r.ext_share_final! * 100).toFixed(1)}%`).join(', ')})`,
    share === null ? '—' : share > 0 ? 'yes' : 'no',
  ]);
  return rows;
}

/** Per-run table: test perplexity and bits per byte per split, stability, wall time. */
function runRows(runs: ReportRun[], splits: string[]): [string[], Cell[][]] {
  const headers = ['eigenvalues', 'lr', 'seed', 'status', 'verdict', 'tokens seen', ...splits.flatMap((s) => [`${s} test ppl`, `${s} test bpb`]),
    'NaN/Inf steps', 'spikes', 'grad norm max', 'ext. share (last 10%)', 'wall min', 'tokens/s'];
  const rows = [...runs].sort((a, b) => Number(a.allow_neg_eigval) - Number(b.allow_neg_eigval) || a.lr - b.lr || (a.seed ?? 0) - (b.seed ?? 0)).map((r): Cell[] => [
    r.allow_neg_eigval ? '[-1,1]' : '[0,1]', fmtLr(r.lr), r.seed === null ? null : String(r.seed), r.status, r.verdict ?? '—', r.tokens_seen,
    ...splits.flatMap((s) => [r.test_ppl[s] ?? null, r.test_bpb[s] ?? null]),
    r.nonfinite_count, r.spike_count, r.grad_norm_max, r.ext_share_final === null ? null : `${(r.ext_share_final * 100).toFixed(2)}%`,
    r.train_wall_s === null ? null : (r.train_wall_s / 60).toFixed(1), r.tokens_per_s === null ? null : Math.round(r.tokens_per_s),
  ]);
  return [headers, rows];
}

/** The whole report as Markdown. */
export function stabilityReport(sweeps: ArchSweep[], meta: ReportMeta): string {
  const all = sweeps.flatMap(reportRuns);
  const done = all.filter(finished).length;
  const missing = all.filter((r) => !finished(r));
  const out: string[] = [
    '# Language-model stability with negative eigenvalues (allow_neg_eigval)',
    '',
    'Learning-rate sweeps of small DeltaNet and Mamba LMs with state-transition eigenvalues in [0,1]',
    '(`allow_neg_eigval = false`) and [-1,1] (`true`), same recipe, seed and data otherwise, each read as a',
    'stability map: where does each setting stop training stably? The paper ("Unlocking State-Tracking in',
    'Linear RNNs Through Negative Eigenvalues", §5.3 / App. E.3) trains 340M–1.3B models on 100B FineWeb tokens',
    'at one learning rate; these runs are orders of magnitude smaller, so they test stability and the direction',
    'of the code/math effect at small scale, not the paper\'s numbers.',
    '',
    `**Runs: ${done} of ${all.length} finished${missing.length ? `; ${missing.length} missing or unfinished (${summarize(missing)}). Re-run \`${meta.command}\` to run or continue them; this report is rebuilt from whatever has finished` : ''}.**`,
    '',
    '## Setup',
    '',
    ...meta.setup.map((s) => `- ${s}`),
    `- generated ${meta.generated}`,
    '',
    `Verdicts: ${RULES_TEXT(sweeps.find((s) => s.map)?.map?.rules ?? { maxSpikes: 2, lateRise: 0.1, degrade: 0.1 })}`,
    '',
  ];
  for (const s of sweeps) {
    const runs = reportRuns(s);
    out.push(`## ${s.label}`, '');
    out.push(`Sweep folder \`${s.sweepDir}\` (recipe ${s.recipe}); ${runs.filter(finished).length} of ${runs.length} runs finished.`, '');
    if (!s.map) {
      out.push('Not started yet.', '');
      continue;
    }
    const t = mapTables(s.map);
    out.push('### Stability map', '', markdownTable(...t.summary), '', 'Final validation loss (mean of splits) and verdict per learning rate:', '', markdownTable(...t.grid), '');
    out.push('### The paper\'s claims beside these runs', '', markdownTable(['claim', 'paper', 'these runs ([-1,1] vs [0,1])', 'agrees'], claimRows(s)), '');
    const splits = [...new Set(runs.flatMap((r) => Object.keys(r.test_ppl)))];
    out.push('### Test perplexity per split at each run\'s end, stability and wall time', '',
      `Test figures: each run's last checkpoint on the test split of every domain (\`lrnn train\`'s closing evaluation, eval.final_tokens tokens per split); ext. share = ${s.arch === 'deltanet' ? 'β > 1' : 'Ā < 0'} share; wall = training and evaluation time summed over the run's steps (resumes included); it depends on what else shared the machine during each run (a second sweep job, other work), so it compares runs only when they ran under the same load.`, '',
      markdownTable(...runRows(runs, splits)), '');
    out.push('### Divergence detail', '', markdownTable(...t.runs), '');
    if (s.figures.length) {
      out.push('### Figures', '');
      for (const f of s.figures) out.push(`![${f}](${f})`, '');
    }
  }
  out.push('## How to reproduce', '', '```', meta.command, 'npm run repro:lm-stability -- --help', '```', '');
  return out.join('\n');
}

function summarize(rs: ReportRun[]): string {
  const by = new Map<string, number>();
  for (const r of rs) by.set(r.status, (by.get(r.status) ?? 0) + 1);
  return [...by].map(([k, n]) => `${n} ${k}`).join(', ');
}

/** The machine-readable twin: one object per planned run, and each setting's edge. */
export function stabilityJson(sweeps: ArchSweep[], meta: ReportMeta): object {
  const runs = sweeps.flatMap(reportRuns);
  return {
    format: 'lrnn-lm-stability', version: 1, generated: meta.generated, command: meta.command, setup: meta.setup,
    expected: runs.length, finished: runs.filter(finished).length, missing: runs.filter((r) => !finished(r)).length,
    rules: sweeps.find((s) => s.map)?.map?.rules ?? null,
    settings: sweeps.flatMap((s) => (s.map?.settings ?? []).map((x) => ({ arch: s.arch, ...x }))),
    runs,
  };
}
