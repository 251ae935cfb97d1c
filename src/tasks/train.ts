// The task trainer: fresh examples every step from the (seed, index) generators, the LM forward and
// cross-entropy on the answer position(s) only (labels IGNORE elsewhere), through the step engine that
// `lrnn train` uses (src/train/step.ts: clipping, the NaN/Inf stop rule, AdamW, the schedule, the
// metrics.jsonl step record, data parallelism). It ends with a test evaluation and one checkpoint folder
// (config.json, model.safetensors, task.json) that `lrnn task eval` reads.
import { mkdirSync, writeFileSync, appendFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { softmaxCrossEntropy } from '../kernels/cross_entropy/index.ts';
import { saveCheckpoint } from '../models/checkpoint.ts';
import { initModel, modelConfigFromRecipe, type CausalLM, type ModelConfig } from '../models/index.ts';
import { StepEngine, type StepWorld } from '../train/step.ts';
import { evaluateExamples, type TaskEvalResult } from './evaluate.ts';
import { collate, getTask, makeExamples, trainExamples } from './index.ts';
import { STREAMS } from './rng.ts';
import type { TaskRunConfig } from './schema.ts';
import { IGNORE, type Example, type Task } from './task.ts';

export const TASK_FILE = 'task.json';
/** Steps averaged into the reported final training loss. */
export const FINAL_LOSS_STEPS = 50;

/** task.json of a task checkpoint: which task and vocabulary the model was trained on, and how it went. */
export interface TaskCheckpointInfo {
  task: string;
  vocab: readonly string[];
  config: TaskRunConfig;
  steps: number;
  wall_s: number;
  final_train_loss: number;
  test: Omit<TaskEvalResult, 'byLength'> | null;
}

export interface TaskStepLog {
  step: number;
  loss: number;
  /** Accuracy on this batch's supervised tokens. */
  acc: number;
  lr: number;
  gradNorm: number;
  ms: number;
}

export interface TaskTrainResult {
  model: CausalLM;
  modelConfig: ModelConfig;
  task: Task;
  steps: number;
  wallS: number;
  /** Mean training loss of the last FINAL_LOSS_STEPS steps (one batch's loss depends on its length bucket). */
  finalTrainLoss: number;
  history: TaskStepLog[];
  evals: { step: number; result: TaskEvalResult }[];
  test: TaskEvalResult | null;
  /** The checkpoint folder written (null when no run dir). */
  checkpointDir: string | null;
  status: 'completed' | 'stopped_nonfinite' | 'interrupted';
}

export interface TaskTrainOptions {
  /** Run folder (metrics.jsonl, final/): out_dir/name by default; null writes nothing. */
  runDir?: string | null;
  log?: (line: string) => void;
  /** Skip the final test evaluation (tests). */
  skipTest?: boolean;
  /** Set to stop after the current step (SIGINT): the model so far is saved and status is 'interrupted'. */
  signal?: AbortSignal;
  /** Data-parallel world; every rank draws the same examples unless the caller shards the seed. */
  world?: StepWorld;
}

/** Masked mean cross-entropy over supervised positions, plus argmax predictions (kept) for the batch accuracy. */
function lossAndPreds(model: CausalLM, input: tf.Tensor2D, labels: tf.Tensor1D, count: number, out: { preds?: tf.Tensor }, collectStats: boolean) {
  const logits = model.forward(input, { collectStats });
  const V = logits.shape[2];
  const flat = tf.reshape(logits, [-1, V]) as tf.Tensor2D;
  out.preds = tf.keep(tf.argMax(flat, 1));
  return tf.div(tf.sum(softmaxCrossEntropy(flat, labels, { ignoreIndex: IGNORE })), count) as tf.Scalar;
}

/** The longest training length at 0-based step `step` under the recipe's length curriculum. */
export function curriculumMaxLen(cfg: TaskRunConfig, step: number): number {
  const { train_min_len: lo, train_max_len: hi, curriculum_steps: n } = cfg.task;
  if (n === 0 || step >= n) return hi;
  return Math.min(hi, lo + 2 + Math.floor((hi - lo - 2) * step / n));
}

export function testExamples(cfg: TaskRunConfig, task: Task) {
  return makeExamples(task, cfg.task.test_seed, STREAMS.test, 0, cfg.task.test_examples, cfg.task.test_min_len, cfg.task.test_max_len);
}

export async function trainTask(cfg: TaskRunConfig, opts: TaskTrainOptions = {}): Promise<TaskTrainResult> {
  const log = opts.log ?? (() => {});
  const task = getTask(cfg.task.name);
  const modelConfig = modelConfigFromRecipe(cfg.model, cfg.model.vocab_size ?? task.vocab.size);
  const tr = cfg.train;
  const model = initModel(modelConfig, tr.seed);
  const engine = new StepEngine({
    model, train: tr, ...(opts.world ? { world: opts.world } : {}), ...(opts.signal ? { signal: opts.signal } : {}),
    warn: (f, msg) => log(`step ${f.step}: ${msg}`),
  });
  const runDir = opts.runDir === undefined ? path.join(cfg.out_dir, cfg.name) : opts.runDir;
  if (runDir) mkdirSync(runDir, { recursive: true });
  const metricsFile = runDir ? path.join(runDir, 'metrics.jsonl') : null;
  if (metricsFile) writeFileSync(metricsFile, '');
  const write = (obj: unknown) => { if (metricsFile) appendFileSync(metricsFile, JSON.stringify(obj) + '\n'); };
  const tests = opts.skipTest && cfg.task.eval_every === 0 ? [] : testExamples(cfg, task);
  const valid = cfg.task.eval_every > 0 && cfg.task.valid_examples > 0
    ? makeExamples(task, cfg.task.test_seed, STREAMS.valid, 0, cfg.task.valid_examples, cfg.task.train_min_len, cfg.task.train_max_len) : [];
  const scoreValid = () => (valid.length ? evaluateExamples(model, task, valid, cfg.task.eval_batch_size) : null);
  const validFields = (v: TaskEvalResult | null) => (v ? { valid_accuracy: v.accuracy, valid_scaled_accuracy: v.scaledAccuracy } : {});
  log(`task ${task.name}: ${modelConfig.model_type} allow_neg_eigval=${modelConfig.allow_neg_eigval} params=${model.numParameters()} steps=${tr.steps} batch=${tr.batch_size} lr=${tr.lr} seed=${tr.seed}`);

  const history: TaskStepLog[] = [];
  const evals: { step: number; result: TaskEvalResult }[] = [];
  const bucketCache = new Map<number, Example[][]>();
  const t0 = performance.now();
  let window = { loss: 0, acc: 0, n: 0 };
  let status: TaskTrainResult['status'] = 'completed', steps = 0;
  for (let step = 1; step <= tr.steps; ++step) {
    const ts = performance.now();
    // A bucket window draws all its examples at once, so the curriculum's length cap is the window's first step's.
    const maxLen = curriculumMaxLen(cfg, Math.floor((step - 1) / cfg.task.bucket_batches) * cfg.task.bucket_batches);
    const batch = collate(task, trainExamples(task, tr.seed, step - 1, tr.batch_size, cfg.task.train_min_len, maxLen, {
      window: cfg.task.bucket_batches, cache: bucketCache, weighting: cfg.task.train_length_weighting,
    }));
    let supervised = 0;
    for (const y of batch.labels) if (y !== IGNORE) supervised++;
    const holder: { preds?: tf.Tensor } = {};
    let correct = 0;
    const { record, verdict, stopNow, loss } = await engine.step(step, async (_micro, last) => {
      const input = tf.tensor2d(batch.input, [batch.B, batch.T], 'int32');
      const labels = tf.tensor1d(batch.labels, 'int32');
      return {
        loss: () => lossAndPreds(model, input, labels, supervised, holder, last), tokens: batch.B * batch.T,
        done: () => {
          const preds = holder.preds!.dataSync();
          for (let i = 0; i < batch.labels.length; ++i) if (batch.labels[i] !== IGNORE && preds[i] === batch.labels[i]) correct++;
          tf.dispose([input, labels, holder.preds!]);
        },
      };
    });
    const lr = record.lr;
    const clip = { norm: record.grad_norm ?? NaN };
    const entry: TaskStepLog = { step, loss, acc: correct / supervised, lr, gradNorm: clip.norm, ms: performance.now() - ts };
    history.push(entry);
    write({ ...record, acc: entry.acc });
    window.loss += loss; window.acc += entry.acc; window.n++;
    if (step % cfg.log.every === 0 || step === tr.steps) {
      log(`step ${step}/${tr.steps} loss ${(window.loss / window.n).toFixed(4)} acc ${(window.acc / window.n).toFixed(3)} lr ${lr.toExponential(2)} |g| ${clip.norm.toFixed(3)} ${(entry.ms).toFixed(0)} ms/step`);
      window = { loss: 0, acc: 0, n: 0 };
    }
    steps = step;
    if (verdict === 'stop') {
      status = 'stopped_nonfinite';
      log(engine.guard.stopMessage(step));
      break;
    }
    if (stopNow && step !== tr.steps) {
      status = 'interrupted';
      log(`interrupted after step ${step}: the model so far is saved, without the test evaluation`);
      break;
    }
    if (cfg.task.eval_every > 0 && step % cfg.task.eval_every === 0 && step !== tr.steps) {
      const r = evaluateExamples(model, task, tests, cfg.task.eval_batch_size);
      const v = scoreValid();
      evals.push({ step, result: r });
      write({ kind: 'eval', step, accuracy: r.accuracy, scaled_accuracy: r.scaledAccuracy, ...validFields(v) });
      const vs = v ? `; train lengths ${v.minLength}-${v.maxLength}: scaled ${v.scaledAccuracy.toFixed(4)}` : '';
      log(`eval @${step}: accuracy ${r.accuracy.toFixed(4)} scaled ${r.scaledAccuracy.toFixed(4)} (lengths ${r.minLength}-${r.maxLength}, n=${r.examples})${vs}`);
    }
  }
  const trainS = (performance.now() - t0) / 1000;
  let test: TaskEvalResult | null = null;
  if (!opts.skipTest && status === 'completed') {
    test = evaluateExamples(model, task, tests, cfg.task.eval_batch_size);
    evals.push({ step: steps, result: test });
    write({ kind: 'eval', step: steps, accuracy: test.accuracy, scaled_accuracy: test.scaledAccuracy, ...validFields(scoreValid()), by_length: test.byLength });
    log(`test: accuracy ${test.accuracy.toFixed(4)} scaled ${test.scaledAccuracy.toFixed(4)} (lengths ${test.minLength}-${test.maxLength}, n=${test.examples})`);
  }
  const wallS = (performance.now() - t0) / 1000;
  const tail = history.slice(-FINAL_LOSS_STEPS);
  const finalTrainLoss = tail.length ? tail.reduce((a, h) => a + h.loss, 0) / tail.length : NaN;
  let checkpointDir: string | null = null;
  if (runDir) {
    checkpointDir = path.join(runDir, 'final');
    saveCheckpoint(checkpointDir, model);
    const { byLength: _omit, ...summary } = test ?? { byLength: null };
    const info: TaskCheckpointInfo = {
      task: task.name, vocab: task.vocab.symbols, config: cfg, steps, wall_s: wallS,
      final_train_loss: finalTrainLoss,
      test: test ? (summary as Omit<TaskEvalResult, 'byLength'>) : null,
    };
    writeFileSync(path.join(checkpointDir, TASK_FILE), JSON.stringify(info, null, 2) + '\n');
    write({ kind: 'done', step: steps, status, nonfinite_count: engine.guard.count, train_s: trainS, wall_s: wallS });
  }
  return { model, modelConfig, task, steps, wallS, status, finalTrainLoss, history, evals, test, checkpointDir };
}
