// The stability report and its JSON twin from hand-made sweep maps: the paper's claims judged on the runs
// that finished, planned runs that have not run listed as missing, one JSON object per planned run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_RULES, type MapRun, type StabilityMap } from './stability_map.ts';
import { type ArchSweep, claimRows, reportRuns, stabilityJson, stabilityReport } from './stability_report.ts';

function run(lr: number, neg: boolean, o: Partial<MapRun> = {}): MapRun {
  const setting = `allow_neg_eigval=${neg} (${neg ? '[-1,1]' : '[0,1]'})`;
  return {
    name: `lr-${lr}_allow_neg_eigval-${neg}`, dir: 'x', setting, overrides: { 'train.lr': lr, 'model.allow_neg_eigval': neg }, arch: 'deltanet', allow_neg_eigval: neg,
    lr, seed: 1234, steps: 1000, steps_planned: 1000, tokens_seen: 2_048_000, status: 'completed', finished: true, verdict: 'stable', why: [], degraded: false,
    final_val_loss: { text: 5, code: 4, math: 3 }, best_val_loss: { text: 5, code: 4, math: 3 }, final_val_loss_mean: 4, best_val_loss_mean: 4,
    test_ppl: { text: 150, code: 60, math: 20 }, test_bpb: { text: 1.5, code: 1.2, math: 1 }, nonfinite_count: 0, spike_count: 0, grad_norm_max: 3, grad_norm_p99: 2,
    early_train_loss: 9, final_train_loss: 4, tokens_per_s: 3000, train_wall_s: 700, eig_kind: 'beta', eig_frac_final: neg ? 0.2 : 0, eig_frac_max: neg ? 0.3 : 0, params: 5e6, ...o,
  };
}

function sweep(runs: MapRun[], lrs: number[]): ArchSweep {
  const settings = [false, true].map((neg) => {
    const rs = runs.filter((r) => r.allow_neg_eigval === neg);
    return { setting: rs[0]!.setting, runs: rs.length, finished: rs.filter((r) => r.finished).length, lrs, largest_stable_lr: neg ? 1e-3 : 3e-3, first_unstable_lr: neg ? 3e-3 : 1e-2, first_degraded_lr: null, best_lr: 1e-3, best_final_val_loss: neg ? 4.02 : 4, note: null };
  });
  const map: StabilityMap = { sweep: 'checkpoints/lm-stability/deltanet', recipe: 'lm-stability-deltanet', rules: DEFAULT_RULES, splits: ['text', 'code', 'math'], settings, runs, missing: runs.filter((r) => !r.finished).length };
  return {
    arch: 'deltanet', label: 'DeltaNet', sweepDir: map.sweep, recipe: 'recipes/lm-stability-deltanet.toml', map, figures: ['lm-stability/deltanet/val_loss_vs_lr.svg'],
    planned: lrs.flatMap((lr) => [false, true].map((neg) => ({ lr, allow_neg_eigval: neg, seed: null }))),
  };
}

const LRS = [1e-3, 3e-3, 1e-2, 3e-2];
const runs = [
  run(1e-3, false), run(1e-3, true, { test_ppl: { text: 151, code: 58, math: 19 } }),
  run(3e-3, false), run(3e-3, true, { verdict: 'unstable', why: ['3 loss spikes (> 2)'], spike_count: 3 }),
  run(1e-2, false, { verdict: 'unstable', why: ['1 skipped NaN/Inf steps'], nonfinite_count: 1 }), run(1e-2, true, { status: 'interrupted', finished: false, verdict: null, steps: 400 }),
  // 3e-2 [0,1] never ran; 3e-2 [-1,1] is absent from the sweep index altogether.
  run(3e-2, false, { status: 'missing', finished: false, verdict: null, tokens_seen: null, test_ppl: {}, test_bpb: {} }),
];

test('claims: stability at the same lr, edges, perplexity, code/math direction, extended range', () => {
  const rows = claimRows(sweep(runs, LRS));
  const by = Object.fromEntries(rows.map((r) => [r[0], r]));
  assert.deepEqual(by['trains stably at the same learning rate']!.slice(2), ['[-1,1] stable at 1 of the 2 lrs where [0,1] is (not at 3e-3: unstable)', 'no']);
  assert.equal(by['largest stable learning rate']![2], '[0,1] 3e-3, [-1,1] 1e-3');
  // A grid that ends stable: 'edge not reached', unless quality broke down first (then that lr is named).
  const open = sweep(runs, LRS);
  open.map!.settings = open.map!.settings.map((x, i) => ({ ...x, largest_stable_lr: 3e-2, first_unstable_lr: null, first_degraded_lr: i ? 3e-2 : null, note: 'stable at every lr tried' }));
  assert.equal(claimRows(open).find((r) => r[0] === 'largest stable learning rate')![2], '[0,1] 3e-2 (edge not reached), [-1,1] 3e-2 (degraded from 3e-2)');
  assert.match(by['comparable validation perplexity']![2]!, /\+2\.0%$/);
  assert.equal(by['comparable validation perplexity']![3], 'yes (within 5%)');
  // Only lrs where both runs are stable count: 1e-3, where [-1,1] is lower on code and math (DeltaNet: as the paper).
  assert.deepEqual(by['code test perplexity with [-1,1]']!.slice(2), ['lower at 1 of 1 lrs where both are stable (1e-3: 58 vs 60)', 'yes']);
  assert.equal(by['math test perplexity with [-1,1]']![3], 'yes');
  assert.match(by['the extended range is used (β > 1)']![2]!, /^20\.00% of values .* mean of 2 \[-1,1\] runs/);
  // The same runs as Mamba contradict the paper's code/math direction.
  const m = { ...sweep(runs, LRS), arch: 'mamba' as const };
  assert.equal(claimRows(m).find((r) => r[0] === 'code test perplexity with [-1,1]')![3], 'no');
});

test('report and twin: every planned run once, missing ones counted and named', () => {
  const s = sweep(runs, LRS);
  const rr = reportRuns(s);
  assert.equal(rr.length, 8);
  assert.deepEqual(rr.map((r) => r.status), ['completed', 'completed', 'completed', 'completed', 'completed', 'interrupted', 'missing', 'not started']);
  const meta = { setup: ['2 cores'], generated: 'now', command: 'npm run repro:lm-stability' };
  const md = stabilityReport([s, { arch: 'mamba', label: 'Mamba', sweepDir: 'm', recipe: 'r', map: null, figures: [], planned: [{ lr: 1e-3, allow_neg_eigval: false, seed: null }] }], meta);
  assert.match(md, /\*\*Runs: 5 of 9 finished; 4 missing or unfinished \(1 interrupted, 1 missing, 2 not started\)\. Re-run `npm run repro:lm-stability` to run or continue them/);
  assert.match(md, /## DeltaNet\n\nSweep folder `checkpoints\/lm-stability\/deltanet` .*; 5 of 8 runs finished\./);
  assert.match(md, /## Mamba\n\nSweep folder `m` \(recipe r\); 0 of 1 runs finished\.\n\nNot started yet\./);
  assert.match(md, /\| \[0,1\] \| 1e-3 \| 1234 \| completed \| stable \| 2,048,000 \| 150 \| 1\.5000 \| 60 \| 1\.2000 \| 20 \| 1 \| 0 \| 0 \| 3 \| 0\.00% \| 11\.7 \| 3,000 \|/);
  assert.match(md, /!\[lm-stability\/deltanet\/val_loss_vs_lr\.svg\]\(lm-stability\/deltanet\/val_loss_vs_lr\.svg\)/);
  assert.match(md, /\| trains stably at the same learning rate \| .* \| no \|/);
  const j = stabilityJson([s], meta) as { expected: number; finished: number; missing: number; runs: Record<string, unknown>[] };
  assert.deepEqual([j.expected, j.finished, j.missing], [8, 5, 3]);
  const first = j.runs[0]!;
  for (const k of ['arch', 'allow_neg_eigval', 'lr', 'seed', 'tokens_seen', 'status', 'final_val_loss', 'test_ppl', 'nonfinite_count', 'spike_count', 'grad_norm_max']) assert.ok(k in first, k);
  assert.deepEqual([first.arch, first.allow_neg_eigval, first.lr, first.seed, first.status, (first.test_ppl as Record<string, number>).code], ['deltanet', false, 1e-3, 1234, 'completed', 60]);
  assert.deepEqual(j.runs[7]!.status, 'not started');
});
