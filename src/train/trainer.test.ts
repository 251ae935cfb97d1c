// The training loop end to end on the `tiny` recipe with an in-memory token stream: the loss falls, the
// same seed gives the same metrics.jsonl, a resume after step 15 equals the unbroken run, an injected NaN
// is skipped and counted (and too many stop the run), and a step leaks no tensors.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend/index.ts';
import { loadConfig } from '../config/load.ts';
import { readMetrics, toJsonLine, withoutPerf, type StepRecord } from '../log/metrics.ts';
import { initModel, modelConfigFromRecipe } from '../models/index.ts';
import { latestCheckpoint } from './checkpointing.ts';
import { Xoshiro128 } from '../util/rng.ts';
import { TokenArrayEvalData, TokenArraySource, type DataCursor } from './sources.ts';
import { train, type TrainOptions } from './trainer.ts';

before(async () => {
  await initBackend();
});

/** A learnable stream: a noisy counter over 40 of the 512 ids (next token is mostly predictable). */
function synthStream(n: number, seed: number): Int32Array {
  const r = new Xoshiro128(seed);
  const out = new Int32Array(n);
  let x = 0;
  for (let i = 0; i < n; ++i) {
    x = r.next() < 0.9 ? (x + 1) % 40 : Math.floor(r.next() * 40);
    out[i] = x + 3;
  }
  return out;
}

const STREAM = synthStream(20000, 7);
const EVAL = new TokenArrayEvalData({ text: synthStream(2000, 8), code: synthStream(2000, 9), math: synthStream(2000, 10) }, 4, 32);

function setup(overrides: string[] = [], resume = false, runDir?: string): TrainOptions {
  const dir = runDir ?? mkdtempSync(path.join(tmpdir(), 'lrnn-train-'));
  const { config } = loadConfig('tiny', [`--out_dir=${dir}`, ...overrides]);
  const res = resume ? latestCheckpoint(dir) : undefined;
  const data = new TokenArraySource(STREAM, config.train.batch_size, config.data.seq_len, 'synthetic', res?.state.data_cursor as DataCursor | undefined);
  return { config, runDir: dir, modelConfig: modelConfigFromRecipe(config.model), data, evalData: EVAL, ...(res ? { resume: res } : {}) };
}

const stepsOf = (dir: string) => readMetrics(path.join(dir, 'metrics.jsonl')).filter((r): r is StepRecord => r.kind === 'step');
const deterministic = (dir: string) => readMetrics(path.join(dir, 'metrics.jsonl')).map((r) => toJsonLine(withoutPerf(r))).join('');

let baseline: string;
let baselineText: string;

test('tiny trains 30 steps: the loss falls, eval runs at the end, checkpoints are kept and pruned', async () => {
  const o = setup();
  const r = await train(o);
  baseline = o.runDir;
  assert.equal(r.status, 'completed');
  assert.equal(r.step, 30);
  const steps = stepsOf(o.runDir);
  assert.deepEqual(steps.map((s) => s.step), Array.from({ length: 30 }, (_, i) => i + 1));
  const first = steps.slice(0, 3).reduce((a, s) => a + s.loss!, 0) / 3;
  const last = steps.slice(-3).reduce((a, s) => a + s.loss!, 0) / 3;
  assert.ok(first > 5.5, `initial loss ${first} should be near ln(512) = 6.24`);
  assert.ok(last < first - 1.5, `loss did not fall: first ${first}, last ${last}`);
  const s = steps[29]!;
  assert.equal(s.tokens_seen, 30 * 4 * 32);
  assert.ok(s.grad_norm! > 0 && s.update_ratio > 0 && s.lr > 0);
  assert.deepEqual(Object.keys(s.grad_norm_groups).sort(), ['embed', 'final_norm', 'head', 'layers.0', 'layers.1']);
  assert.equal(s.eig.length, 2);
  assert.ok(s.eig.every((e) => e.kind === 'beta' && e.frac_ext === 0 && e.min > 0 && e.max < 1), JSON.stringify(s.eig));
  assert.ok(s.perf.tokens_per_s > 0 && s.perf.peak_rss_mb > 0);
  assert.ok(steps[0]!.lr < steps[2]!.lr, 'warm-up');
  const evals = readMetrics(path.join(o.runDir, 'metrics.jsonl')).filter((x) => x.kind === 'eval');
  assert.equal(evals.length, 1);
  assert.deepEqual(Object.keys(r.lastEval!).sort(), ['code', 'math', 'text']);
  assert.ok(r.lastEval!.text!.loss < first);
  const folders = readdirSync(o.runDir).sort();
  assert.deepEqual(folders, ['checkpoint-15', 'checkpoint-30', 'config.resolved.toml', 'metrics.jsonl']);
  const { state } = latestCheckpoint(o.runDir);
  assert.equal(state.step, 30);
  assert.equal(state.optimizer.step, 30);
  assert.deepEqual(state.data_cursor, { source: 'synthetic', epoch: 0, offset: 30 * 4 * 32, order_seed: null });
  assert.equal(state.run_config.name, 'tiny');
  assert.ok(existsSync(path.join(o.runDir, 'checkpoint-30', 'config.resolved.toml')));
  baselineText = deterministic(o.runDir);
});

test('the same seed twice gives identical metrics.jsonl (apart from wall-clock perf fields)', async () => {
  const o = setup();
  await train(o);
  assert.equal(deterministic(o.runDir), baselineText);
  const o2 = setup(['--train.seed=99']);
  await train(o2);
  assert.notEqual(deterministic(o2.runDir), baselineText);
});

test('resume after step 15 (killed at 17) gives the metrics of the uninterrupted run', async () => {
  const o = setup();
  const r1 = await train({ ...o, stopAfterStep: 17 });
  assert.equal(r1.status, 'interrupted');
  assert.equal(stepsOf(o.runDir).length, 17);
  const r2 = await train(setup([], true, o.runDir));
  assert.equal(r2.status, 'completed');
  assert.equal(deterministic(o.runDir), baselineText);
  assert.ok(baseline);
});

test('an injected NaN is skipped and counted; too many stop the run with a clear status', async () => {
  const o = setup();
  const r = await train({ ...o, injectNonfinite: [5] });
  assert.equal(r.status, 'completed');
  assert.equal(r.nonfiniteCount, 1);
  const steps = stepsOf(o.runDir);
  assert.equal(steps[4]!.skipped, true);
  assert.equal(steps[4]!.loss, null);
  assert.equal(steps[4]!.update_ratio, 0);
  assert.equal(steps[4]!.nonfinite_count, 1);
  assert.equal(steps[3]!.nonfinite_count, 0);
  assert.equal(steps[29]!.nonfinite_count, 1);
  assert.ok(steps.filter((s) => s.step !== 5).every((s) => !s.skipped && s.update_ratio > 0));

  const o2 = setup(['--train.max_nonfinite_steps=2']);
  const r2 = await train({ ...o2, injectNonfinite: [3, 4, 5] });
  assert.equal(r2.status, 'stopped_nonfinite');
  assert.equal(r2.step, 4);
  const done = readMetrics(path.join(o2.runDir, 'metrics.jsonl')).at(-1)!;
  assert.equal(done.kind, 'done');
  assert.equal((done as { status: string }).status, 'stopped_nonfinite');
});

test('a training step leaks no tensors (grad accumulation on)', async () => {
  const o = setup(['--train.steps=6', '--train.warmup=1', '--train.grad_accum=2', '--checkpoint.every=0', '--eval.at_end=false']);
  const counts: number[] = [];
  // Building a model may itself keep tensors alive (its initial values); measure that apart from the loop.
  const m0 = tf.memory().numTensors;
  initModel(o.modelConfig, 1).dispose();
  const modelLeak = tf.memory().numTensors - m0;
  const start = tf.memory().numTensors;
  const r = await train({ ...o, onEvent: (e) => { if (e.kind === 'step') counts.push(tf.memory().numTensors); } });
  assert.equal(r.status, 'completed');
  assert.equal(counts.length, 6);
  assert.ok(counts.every((c) => c === counts[0]), `tensor count changed across steps: ${counts}`);
  assert.equal(tf.memory().numTensors - start, modelLeak, 'tensors left after the run beyond what building the model leaves');
  assert.equal(stepsOf(o.runDir)[5]!.tokens_seen, 6 * 2 * 4 * 32);
});

test('resuming with different model settings is refused, naming the field', async () => {
  const o = setup(['--train.steps=4', '--train.warmup=1', '--checkpoint.every=2', '--eval.at_end=false']);
  await train({ ...o, stopAfterStep: 2 });
  const bad = setup(['--train.steps=4', '--train.warmup=1', '--checkpoint.every=2', '--eval.at_end=false', '--model.allow_neg_eigval=true'], true, o.runDir);
  await assert.rejects(train(bad), /different model settings \(allow_neg_eigval\)/);
  const good = await train(setup(['--train.steps=4', '--train.warmup=1', '--checkpoint.every=2', '--eval.at_end=false'], true, o.runDir));
  assert.equal(good.step, 4);
});
