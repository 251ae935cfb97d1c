// `lrnn compare <sweep dir>` on a hand-made sweep folder (sweep.json + run folders with metrics.jsonl in the
// trainer's record format): each verdict rule, the largest stable lr per setting (and how --max-spikes moves
// it), unfinished and missing runs counted and not judged, the per-run JSON fields, the tables and the SVGs.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { DoneRecord, EvalRecord, StepRecord } from '../log/metrics.ts';
import { runCli } from '../testing/cli.ts';
import { findAll, parseXml } from '../testing/xml_check.ts';
import { firstDegradedLr, judgeRun, largestStableLr, type MapRun, type StabilityMap } from './stability_map.ts';
import type { SweepIndex } from './sweep_index.ts';

const LRS = [1e-3, 3e-3, 1e-2, 3e-2, 1e-1];
const TOK = 128;

type Shape = 'stable' | 'late-rise' | 'nonfinite' | 'rising' | 'spikes2' | 'spikes3' | 'interrupted' | 'missing';
/** The outcome of each run: [allow_neg_eigval=false, true] per lr. */
const PLAN: Record<number, [Shape, Shape]> = {
  1e-3: ['stable', 'stable'],
  3e-3: ['stable', 'spikes3'],
  1e-2: ['late-rise', 'spikes2'],
  3e-2: ['nonfinite', 'rising'],
  1e-1: ['missing', 'interrupted'],
};

function stepRec(i: number, loss: number | null, o: { spike?: boolean; spikes?: number; skipped?: boolean; nonfinite?: number } = {}): StepRecord {
  return {
    kind: 'step', step: i, tokens_seen: i * TOK, loss, lr: 1e-3, grad_norm: loss === null ? null : 1 + i / 10, grad_norm_groups: {}, clipped: false,
    update_ratio: 1e-3, skipped: !!o.skipped, nonfinite_count: o.nonfinite ?? 0, loss_z: null, spike: !!o.spike, spike_count: o.spikes ?? 0,
    eig: [], perf: { tokens_per_s: 1000, step_s: 0.5, data_wait_s: 0, elapsed_s: i * 0.5, rss_mb: 100, peak_rss_mb: 100 },
  };
}

function evalRec(i: number, mean: number): EvalRecord {
  const s = (l: number) => ({ tokens: 100, loss: l, ppl: Math.exp(l), bpb: l / Math.LN2 / 4 });
  return { kind: 'eval', step: i, tokens_seen: i * TOK, splits: { text: s(mean + 0.1), code: s(mean - 0.1) }, mean_loss: mean, perf: { eval_s: 2 } };
}

/** metrics.jsonl lines of one fabricated run. */
function metrics(shape: Shape): string[] {
  const out: object[] = [];
  const n = shape === 'nonfinite' ? 15 : shape === 'interrupted' ? 12 : 40;
  let spikes = 0;
  for (let i = 1; i <= n; ++i) {
    let loss: number | null = shape === 'rising' ? 6 + i / 40 : 6 - (2 * i) / 40;
    const skipped = shape === 'nonfinite' && i > 10;
    if (skipped) loss = null;
    const spike = (shape === 'spikes2' && (i === 15 || i === 25)) || (shape === 'spikes3' && (i === 15 || i === 25 || i === 35));
    if (spike) spikes++;
    out.push(stepRec(i, loss, { spike, spikes, skipped, nonfinite: shape === 'nonfinite' ? Math.max(0, i - 10) : 0 }));
    if (i === 20 && shape !== 'nonfinite') out.push(evalRec(i, shape === 'late-rise' ? 4.5 : shape === 'rising' ? 6.5 : 4.8));
    if (i === 40) out.push(evalRec(i, shape === 'late-rise' ? 5.2 : shape === 'rising' ? 7.0 : 4.2));
  }
  const status: DoneRecord['status'] = shape === 'nonfinite' ? 'stopped_nonfinite' : shape === 'interrupted' ? 'interrupted' : 'completed';
  out.push({ kind: 'done', step: n, tokens_seen: n * TOK, status, nonfinite_count: shape === 'nonfinite' ? 5 : 0, spike_count: spikes, perf: { wall_s: 9, peak_rss_mb: 100, mean_tokens_per_s: 1000 } });
  return out.map((o) => JSON.stringify(o));
}

let dir = '';
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'lrnn-map-'));
  const runs: SweepIndex['runs'] = [];
  for (const lr of LRS) {
    for (const neg of [false, true]) {
      const name = `lr-${lr}_allow_neg_eigval-${neg}`;
      const shape = PLAN[lr]![neg ? 1 : 0];
      runs.push({ name, dir: name, overrides: { 'train.lr': lr, 'model.allow_neg_eigval': neg }, args: [], action: 'start', status: shape === 'missing' ? 'pending' : 'completed', exit_code: 0, step: null, tokens_seen: null, wall_s: null, log: null });
      if (shape === 'missing') continue;
      const d = path.join(dir, name);
      mkdirSync(d);
      writeFileSync(path.join(d, 'config.resolved.toml'), `name = "${name}"\n\n[model]\narch = "deltanet"\nsize = "tiny"\nallow_neg_eigval = ${neg}\n\n[train]\nlr = ${lr}\nsteps = 40\nseed = 7\n`);
      writeFileSync(path.join(d, 'metrics.jsonl'), metrics(shape).join('\n') + '\n');
    }
  }
  // One lrnn eval result, for the test perplexity of that run.
  mkdirSync(path.join(dir, runs[0]!.dir, 'eval'));
  writeFileSync(path.join(dir, runs[0]!.dir, 'eval', 'test.json'), JSON.stringify({
    format: 'lrnn-eval', version: 1, checkpoint: 'x', model_type: 'delta_net', allow_neg_eigval: false, parameters: 1, step: 40, tokens_seen: 40 * TOK,
    subset: 'test', seq_len: 32, stride: 32, max_tokens: null, batch_size: 8, buckets: [128],
    splits: { text: { tokens: 10, nll: 45, loss: 4.5, ppl: 90.0171, bytes: 40, bpb: 1.62, windows: 1, buckets: [], source: 's', truncated: false, bytes_exact: true } },
    perf: { eval_s: 1, tokens_per_s: 10 },
  }));
  const index: SweepIndex = { format: 'lrnn-sweep', version: 1, recipe: 'tiny', recipe_path: 'recipes/tiny.toml', overrides: [], jobs: 1, updated: 'now', runs,
    grid: [{ key: 'train.lr', values: LRS.map(String) }, { key: 'model.allow_neg_eigval', values: ['false', 'true'] }] };
  writeFileSync(path.join(dir, 'sweep.json'), JSON.stringify(index));
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('stability map of a sweep folder: verdicts, largest stable lr, unfinished and missing runs', async () => {
  const out = path.join(dir, 'cmp');
  const r = await runCli('compare', dir, '--out', out);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /allow_neg_eigval=false \(\[0,1\]\)\s+3e-3\s+1e-2\s+—\s+1e-3 \(4\.2000\)\s+4\/5/);
  assert.match(r.out, /allow_neg_eigval=true \(\[-1,1\]\)\s+1e-3\s+3e-3\s+—\s+1e-3 \(4\.2000\)\s+4\/5/);
  assert.match(r.out, /8 of 10 runs finished/);
  const map = JSON.parse(readFileSync(path.join(out, 'stability.json'), 'utf8')) as StabilityMap;
  const run = (lr: number, neg: boolean) => map.runs.find((x) => x.lr === lr && x.allow_neg_eigval === neg && x.status !== 'missing') ?? map.runs.find((x) => x.overrides['train.lr'] === lr && x.overrides['model.allow_neg_eigval'] === neg)!;
  assert.deepEqual(LRS.map((lr) => [run(lr, false).verdict, run(lr, true).verdict]), [
    ['stable', 'stable'], ['stable', 'unstable'], ['unstable', 'stable'], ['diverged', 'diverged'], [null, null],
  ]);
  assert.deepEqual(run(1e-2, false).why, ['final val loss 5.2000 > best 4.5000 + 10%']);
  assert.deepEqual(run(3e-3, true).why, ['3 loss spikes (> 2)']);
  assert.deepEqual(run(3e-2, false).why, ['stopped after 5 NaN/Inf steps']);
  assert.match(run(3e-2, true).why.join(), /final train loss 6\.8875 ≥ first steps' 6\.1375/);
  assert.equal(run(1e-1, false).status, 'missing');
  assert.equal(run(1e-1, true).status, 'interrupted');
  assert.equal(map.missing, 2);
  const [a, b] = map.settings;
  assert.deepEqual([a!.largest_stable_lr, a!.first_unstable_lr, a!.best_lr, a!.finished, a!.runs], [3e-3, 1e-2, 1e-3, 4, 5]);
  assert.deepEqual([b!.largest_stable_lr, b!.first_unstable_lr, b!.finished], [1e-3, 3e-3, 4]);
  assert.deepEqual([a!.first_degraded_lr, b!.first_degraded_lr], [null, null], 'an unstable run is not also degraded');
  assert.equal(b!.note, null);
  // The per-run fields of eval/reports/lm-stability.json.
  const first = run(1e-3, false);
  assert.deepEqual([first.arch, first.allow_neg_eigval, first.lr, first.seed, first.tokens_seen, first.status, first.nonfinite_count, first.spike_count],
    ['deltanet', false, 1e-3, 7, 40 * TOK, 'completed', 0, 0]);
  assert.ok(Math.abs(first.final_val_loss.text! - 4.3) < 1e-12 && Math.abs(first.final_val_loss.code! - 4.1) < 1e-12);
  assert.equal(first.test_ppl.text, 90.0171);
  assert.equal(first.grad_norm_max, 1 + 40 / 10);
  assert.equal(first.train_wall_s, 40 * 0.5 + 2 * 2);
  assert.equal(run(3e-2, false).nonfinite_count, 5);
  assert.equal(run(1e-2, true).spike_count, 2);

  const md = readFileSync(path.join(out, 'stability.md'), 'utf8');
  assert.match(md, /\| 1e-2 \| 5\.2000 UNSTABLE \| 4\.2000 stable \|/);
  assert.match(md, /\| 3e-2 \| — DIVERGED \| 7\.0000 DIVERGED \|/);
  assert.match(md, /\| 1e-1 \| not run \| interrupted \(12\/40\) \|/);
  assert.match(md, /8 of 10 runs finished \(2 missing or unfinished/);
  for (const f of ['val_loss_vs_lr.svg', 'val_loss_vs_lr_text.svg', 'val_loss_vs_lr_code.svg', 'grad_norm_max_vs_lr.svg', 'loss_lr_1e-3.svg', 'loss_lr_1e-1.svg']) {
    const svg = parseXml(readFileSync(path.join(out, f), 'utf8'));
    assert.equal(svg.name, 'svg', f);
    assert.ok(findAll(svg, 'text').some((t) => t.text.startsWith('allow_neg_eigval=true ([-1,1])')), `${f}: legend`);
    assert.match(md, new RegExp(`!\\[[^\\]]*\\]\\(${f.replace(/\./g, '\\.')}\\)`));
  }
  const vs = parseXml(readFileSync(path.join(out, 'val_loss_vs_lr.svg'), 'utf8'));
  assert.ok(findAll(vs, 'text').some((t) => t.text.startsWith('peak learning rate')));
  assert.ok(findAll(vs, 'polyline').length >= 4, 'final and best curves per setting');

  // A stricter spike rule moves the [-1,1] edge; the [0,1] one has no spikes.
  const strict = await runCli('compare', dir, '--out', path.join(dir, 'cmp2'), '--max-spikes', '3', '--json');
  assert.equal(strict.code, 0, strict.err);
  const m2 = JSON.parse(strict.out) as StabilityMap;
  assert.deepEqual(m2.settings.map((s) => s.largest_stable_lr), [3e-3, 1e-2]);
  assert.equal(m2.settings[1]!.first_unstable_lr, 3e-2);
});

test('largest stable lr stops at the first unstable or unfinished lr; a run is judged by its own curve', () => {
  const r = (lr: number, finished: boolean, verdict: MapRun['verdict']) => ({ lr, finished, verdict });
  assert.deepEqual(largestStableLr([r(1e-3, true, 'stable'), r(1e-2, true, 'stable'), r(3e-3, true, 'stable')]), { lr: 1e-2, blockedBy: null });
  assert.deepEqual(largestStableLr([r(1e-3, true, 'stable'), r(3e-3, false, null), r(1e-2, true, 'stable')]), { lr: 1e-3, blockedBy: 'unfinished' });
  // Two seeds at one lr: both must be stable.
  assert.deepEqual(largestStableLr([r(1e-3, true, 'stable'), r(3e-3, true, 'stable'), r(3e-3, true, 'unstable')]), { lr: 1e-3, blockedBy: 'unstable' });
  assert.deepEqual(largestStableLr([r(1e-3, true, 'diverged'), r(3e-3, true, 'stable')]), { lr: null, blockedBy: 'unstable' });
  // Degraded: above the best lr only (a too small lr is slow, not broken), unfinished runs not counted.
  const d = (lr: number, degraded: boolean, finished = true) => ({ lr, finished, degraded });
  const grid = [d(1e-3, true), d(3e-3, false), d(1e-2, false), d(3e-2, true), d(1e-1, true)];
  assert.equal(firstDegradedLr(grid, 3e-3), 3e-2);
  assert.equal(firstDegradedLr(grid, 1e-1), null);
  assert.equal(firstDegradedLr(grid, null), null);
  assert.equal(firstDegradedLr([d(1e-3, false), d(3e-2, true, false)], 1e-3), null);
  const base = { status: 'completed', final_val_loss_mean: 4, best_val_loss_mean: 4, early_train_loss: 6, final_train_loss: 4, nonfinite_count: 0, spike_count: 0 };
  assert.deepEqual(judgeRun(base, true), { verdict: 'stable', why: [] });
  assert.equal(judgeRun({ ...base, nonfinite_count: 1 }, true).verdict, 'unstable');
  assert.equal(judgeRun({ ...base, final_val_loss_mean: null }, true).verdict, 'diverged');
  assert.equal(judgeRun({ ...base, final_val_loss_mean: null, best_val_loss_mean: null }, false).verdict, 'stable', 'no evaluations: judged by training loss');
  assert.equal(judgeRun({ ...base, final_train_loss: 6 }, true).verdict, 'diverged');
  assert.equal(judgeRun({ ...base, final_val_loss_mean: 4.39 }, true).verdict, 'stable', 'within 10% of its best');
  assert.equal(judgeRun({ ...base, final_val_loss_mean: 4.41 }, true).verdict, 'unstable');
});

test('compare refuses a sweep folder mixed with run folders, and a malformed sweep.json names the key', async () => {
  let r = await runCli('compare', dir, path.join(dir, 'lr-0.001_allow_neg_eigval-false'));
  assert.equal(r.code, 2);
  assert.match(r.err, /is a sweep folder: compare it alone/);
  const bad = mkdtempSync(path.join(tmpdir(), 'lrnn-map-bad-'));
  writeFileSync(path.join(bad, 'sweep.json'), JSON.stringify({ format: 'lrnn-sweep', version: 1, grid: [], runs: [{ name: 'x', dir: 'x' }] }));
  r = await runCli('compare', bad);
  assert.equal(r.code, 2);
  assert.match(r.err, /sweep\.json: key 'runs\[0\]\.overrides': expected an object, got undefined/);
  rmSync(bad, { recursive: true, force: true });
});
