// The pretraining loop, one readable pass per optimizer step:
//   lr → microbatches (forward + backward, gradients averaged over grad_accum) → clip → stability check
//   (NaN/Inf skip, loss-spike z-score) → AdamW → metrics.jsonl → periodic eval and checkpoint.
// Exact resume: a checkpoint stores weights, AdamW moments and step, the data cursor, the RNG, the
// stability windows and the best eval loss, so a resumed run writes the same metrics as an unbroken one.
// The caller (cli/train.ts or a test) builds the data sources (at the resume cursor) and the logger.
// Test: node scripts/test.mjs src/train
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { f32, fromF32 } from '../backend/index.ts';
import { configToToml } from '../config/load.ts';
import type { RunConfig } from '../config/schema.ts';
import { silentLogger, type Logger } from '../log/logger.ts';
import { MetricsWriter, type EigStat, type EvalRecord, type SplitEval, type StepRecord } from '../log/metrics.ts';
import { buildModel, initModel, type CausalLM, type ModelConfig } from '../models/index.ts';
import { readCheckpointWeights } from '../models/checkpoint.ts';
import { evaluateValidation } from '../eval/validation.ts';
import { AdamW } from '../optim/adamw.ts';
import { clipGradNorm, paramGroup } from '../optim/clip.ts';
import { describeSchedule, lrAt, type ScheduleOptions } from '../optim/schedule.ts';
import { BEST_DIR, RESOLVED_CONFIG_FILE, checkResumeModel, pruneCheckpoints, restoreOptimizer, saveTrainingCheckpoint, type FullTrainerState } from './checkpointing.ts';
import { Xoshiro128 } from '../util/rng.ts';
import type { World } from '../parallel/mpi.ts';
import type { BatchSource, EvalData } from './sources.ts';
import { NonfiniteGuard, SpikeDetector, UpdateRatio } from './stability.ts';

/** Events for the progress bar and other listeners (the log and metrics.jsonl are written here). */
export type TrainEvent =
  | { kind: 'start'; step: number; total: number; params: number }
  | { kind: 'step'; step: number; total: number; loss: number | null; tokensPerSec: number }
  | { kind: 'eval'; step: number; splits: Record<string, SplitEval> }
  | { kind: 'checkpoint'; step: number; dir: string }
  | { kind: 'done'; step: number; status: TrainResult['status'] };

export interface TrainOptions {
  config: RunConfig;
  /** checkpoints/<name>: metrics.jsonl, train.log, config.resolved.toml, checkpoint-*. */
  runDir: string;
  modelConfig: ModelConfig;
  /** The training stream, already positioned at the resume cursor when resuming. */
  data: BatchSource;
  evalData?: EvalData;
  /** UTF-8 bytes of a token id, for exact bits per byte in evaluations. */
  tokenBytes?: (id: number) => number;
  /** Data-parallel world (src/parallel/mpi.ts getWorld()); default: one process. The data must be this rank's shard. */
  world?: Pick<World, 'rank' | 'size' | 'allreduceSum' | 'bcast'>;
  /** The checkpoint to resume from (latestCheckpoint(runDir)). */
  resume?: { dir: string; state: FullTrainerState };
  tokenizer?: { file: string } | { json: string };
  log?: Logger;
  onEvent?: (e: TrainEvent) => void;
  /** Set to stop after the current step (SIGINT): a checkpoint is written and status is 'interrupted'. */
  signal?: AbortSignal;
  /** Test hooks: stop after this step as if killed (no final checkpoint), and poison the loss of these steps. */
  stopAfterStep?: number;
  injectNonfinite?: readonly number[];
}

export interface TrainResult {
  status: 'completed' | 'stopped_nonfinite' | 'interrupted';
  step: number;
  tokensSeen: number;
  nonfiniteCount: number;
  spikeCount: number;
  lastEval: Record<string, SplitEval> | null;
  lastCheckpoint: string | null;
  peakRssMb: number;
  meanTokensPerSec: number;
}

const SINGLE = { rank: 0, size: 1, allreduceSum: () => {}, bcast: () => {} };
const rssMb = () => process.memoryUsage().rss / 2 ** 20;
const peakRssMb = () => process.resourceUsage().maxRSS / 1024;
const finiteOrNull = (x: number) => (Number.isFinite(x) ? x : null);

export async function train(o: TrainOptions): Promise<TrainResult> {
  const cfg = o.config, tc = cfg.train;
  const log = (o.log ?? silentLogger()).child({ component: 'trainer' });
  const emit = o.onEvent ?? (() => {});
  const world = o.world ?? SINGLE;
  const main = world.rank === 0;
  if (main) mkdirSync(o.runDir, { recursive: true });

  // --- model, optimizer and state: fresh (seeded) or from the checkpoint
  let model: CausalLM;
  let rng: Xoshiro128;
  const spikes = new SpikeDetector(tc.spike_window, tc.spike_z);
  const guard = new NonfiniteGuard(tc.max_nonfinite_steps);
  let step = 0, tokensSeen = 0, bestEval: number | null = null;
  if (o.resume) {
    const s = o.resume.state;
    const ck = readCheckpointWeights(o.resume.dir);
    checkResumeModel(o.resume.dir, ck.config, o.modelConfig);
    model = buildModel(ck.config, ck.weights);
    rng = Xoshiro128.fromJSON(s.rng);
    step = s.step;
    tokensSeen = s.tokens_seen;
    bestEval = s.best_eval_loss;
    spikes.restore(s.stability.spike);
    guard.count = s.stability.nonfinite_count;
    // Overrides given at resume (e.g. more steps) become the run's config from here on.
    if (main) writeFileSync(path.join(o.runDir, RESOLVED_CONFIG_FILE), configToToml(cfg));
  } else {
    rng = new Xoshiro128(tc.seed);
    model = initModel(o.modelConfig, rng.nextU32());
    if (main) writeFileSync(path.join(o.runDir, RESOLVED_CONFIG_FILE), configToToml(cfg));
  }
  const names = [...model.params.keys()];
  const vars = names.map((n) => model.params.get(n)!);
  const offsets: number[] = [];
  let totalParams = 0;
  for (const v of vars) { offsets.push(totalParams); totalParams += v.size; }
  // Every rank starts from rank 0's weights (seeded init and checkpoints agree already; this makes it a fact
  // rather than an assumption about identical seeds, files and float reproducibility on every host).
  if (world.size > 1) for (const v of vars) world.bcast(f32(v), 0);
  const opt = new AdamW(names.map((n, i) => ({ name: n, shape: vars[i]!.shape })), { betas: tc.betas, eps: tc.eps, weightDecay: tc.weight_decay });
  if (o.resume) restoreOptimizer(o.resume.dir, model, opt, step);
  const sched: ScheduleOptions = { type: tc.schedule, lr: tc.lr, minLr: tc.min_lr, warmup: tc.warmup, total: tc.steps, decayFrac: tc.decay_frac };
  // Rank 0 writes metrics and checkpoints; every rank computes the same numbers after the all-reduce.
  const writer = main ? new MetricsWriter(path.join(o.runDir, 'metrics.jsonl'), o.resume ? { resumeStep: step } : {}) : null;
  const metrics = { write: (r: Parameters<MetricsWriter['write']>[0]) => writer?.write(r), close: () => writer?.close() };
  const tokensPerStep = tc.batch_size * cfg.data.seq_len * tc.grad_accum * world.size;
  log.info({ run: cfg.name, params: model.numParameters(), step, steps: tc.steps, tokensPerStep, resumedFrom: o.resume?.dir ?? null, config: cfg }, o.resume ? 'resuming' : 'starting');
  emit({ kind: 'start', step, total: tc.steps, params: model.numParameters() });

  let lastLr = step > 0 ? lrAt(step, sched) : 0;
  let lastLoss: number | null = null;
  let lastEval: Record<string, SplitEval> | null = null;
  let lastCheckpoint: string | null = null;
  let status: TrainResult['status'] = 'completed';
  const t0 = performance.now();
  let trainTime = 0, trainTokens = 0;

  // --- checkpoint and eval helpers (closures over the loop state)
  const state = (): FullTrainerState => ({
    format_version: 1, step, tokens_seen: tokensSeen, data_cursor: o.data.cursor(), rng: rng.toJSON(),
    optimizer: opt.describe(lastLr, tc.clip > 0 ? tc.clip : null) as FullTrainerState['optimizer'],
    lr_schedule: describeSchedule(sched), batch: { sequences: tc.batch_size, seq_len: cfg.data.seq_len, grad_accum: tc.grad_accum },
    last_loss: lastLoss, wall_time_s: (o.resume?.state.wall_time_s as number | undefined ?? 0) + (performance.now() - t0) / 1000,
    stability: { spike: spikes.toJSON(), nonfinite_count: guard.count }, best_eval_loss: bestEval, run_config: cfg,
  });
  const checkpoint = (name: string) => {
    if (!main) return;
    const dir = saveTrainingCheckpoint({ runDir: o.runDir, name, model, optimizer: opt, state: state(), ...(o.tokenizer ? { tokenizer: o.tokenizer } : {}) });
    if (name !== BEST_DIR) {
      lastCheckpoint = dir;
      const gone = pruneCheckpoints(o.runDir, cfg.checkpoint.keep_last);
      log.info({ step, dir, pruned: gone.map((g) => path.basename(g)) }, 'checkpoint');
      emit({ kind: 'checkpoint', step, dir });
    } else log.info({ step, dir, bestEvalLoss: bestEval }, 'best checkpoint');
  };
  const evaluate = async () => {
    if (!o.evalData) return;
    const te = performance.now();
    const splits = await evaluateValidation(model, o.evalData, cfg.eval.splits, cfg.eval.batches, o.tokenBytes ? { tokenBytes: o.tokenBytes } : {});
    const mean = Object.values(splits).reduce((a, s) => a + s.loss, 0) / Object.keys(splits).length;
    const rec: EvalRecord = { kind: 'eval', step, tokens_seen: tokensSeen, splits, mean_loss: mean, perf: { eval_s: (performance.now() - te) / 1000 } };
    metrics.write(rec);
    lastEval = splits;
    log.info({ step, ...Object.fromEntries(Object.entries(splits).map(([k, v]) => [k, { loss: +v.loss.toFixed(4), ppl: +v.ppl.toFixed(2), bpb: v.bpb }])) }, 'eval');
    emit({ kind: 'eval', step, splits });
    if (cfg.checkpoint.keep_best && (bestEval === null || mean < bestEval)) {
      bestEval = mean;
      checkpoint(BEST_DIR);
    }
  };

  // --- the loop
  let failed = false;
  try {
    while (step < tc.steps) {
      const tStep = performance.now();
      const n = step + 1;
      const lr = lrAt(n, sched);

      // Microbatches: gradients summed on the host into one flat buffer (views per parameter), summed over
      // ranks (data parallel), then averaged over microbatches × ranks.
      let dataWait = 0, lossSum = 0;
      const flat = new Float32Array(totalParams + 2);
      const grads = new Map(names.map((name, i) => [name, flat.subarray(offsets[i]!, offsets[i]! + vars[i]!.size)]));
      let eig: EigStat[] = [];
      for (let micro = 0; micro < tc.grad_accum; ++micro) {
        const tw = performance.now();
        const b = await o.data.next();
        dataWait += (performance.now() - tw) / 1000;
        const last = micro === tc.grad_accum - 1;
        const tokens = tf.tensor2d(b.tokens, [b.rows, b.width], 'int32');
        const { value, grads: g } = tf.variableGrads(() => model.loss(tokens, { collectStats: last }), vars);
        lossSum += (await value.data())[0]!;
        names.forEach((name, i) => {
          const gi = f32(g[vars[i]!.name]!), acc = grads.get(name)!;
          if (micro === 0) acc.set(gi);
          else for (let j = 0; j < acc.length; ++j) acc[j]! += gi[j]!;
        });
        tf.dispose([tokens, value, g]);
        if (last) eig = model.lastStats.map((s) => ({ layer: s.layer, kind: s.quantity, frac_ext: s.fracOut, min: s.min, max: s.max }));
      }
      // The loss and the Ctrl-C flag ride along in the same reduction, so every rank stops at the same step.
      // Yield once per step so a SIGINT/SIGTERM handler can run and set the flag (the loop is otherwise synchronous).
      await new Promise((r) => setImmediate(r));
      flat[totalParams] = lossSum;
      flat[totalParams + 1] = o.signal?.aborted ? 1 : 0;
      if (world.size > 1) world.allreduceSum(flat);
      const parts = tc.grad_accum * world.size;
      if (parts > 1) for (let j = 0; j < flat.length; ++j) flat[j]! /= parts;
      let loss = world.size > 1 ? flat[totalParams]! : lossSum / tc.grad_accum;
      const stopNow = flat[totalParams + 1]! > 0;
      if (o.injectNonfinite?.includes(n)) loss = NaN;

      // Clip (norms reported before clipping), then the NaN/Inf rule, then the update.
      const clip = clipGradNorm(grads, tc.clip > 0 ? tc.clip : null);
      const verdict = guard.check(loss, clip.norm);
      const ratio = new UpdateRatio();
      if (verdict === 'ok') {
        const values = new Map(names.map((name, i) => [name, f32(vars[i]!).slice()]));
        opt.update(values, grads, lr);
        tf.tidy(() => names.forEach((name, i) => {
          const after = values.get(name)!;
          ratio.add(after, f32(vars[i]!), paramGroup(name));
          vars[i]!.assign(fromF32(after, vars[i]!.shape));
        }));
      } else {
        log.warn({ step: n, loss: finiteOrNull(loss), gradNorm: finiteOrNull(clip.norm), nonfinite: guard.count }, 'non-finite loss or gradient: step skipped');
      }
      step = n;
      lastLr = lr;
      tokensSeen += tokensPerStep;
      const spike = spikes.observe(loss);
      if (spike.spike) log.warn({ step, loss, z: spike.z }, 'loss spike');
      if (Number.isFinite(loss)) lastLoss = loss;

      const stepS = (performance.now() - tStep) / 1000;
      trainTime += stepS;
      trainTokens += tokensPerStep;
      const rec: StepRecord = {
        kind: 'step', step, tokens_seen: tokensSeen, loss: finiteOrNull(loss), lr, grad_norm: finiteOrNull(clip.norm),
        grad_norm_groups: Object.fromEntries(Object.entries(clip.groups).map(([k, v]) => [k, finiteOrNull(v)])),
        clipped: clip.clipped, update_ratio: ratio.value(), skipped: verdict !== 'ok', nonfinite_count: guard.count,
        loss_z: spike.z, spike: spike.spike, spike_count: spikes.spikes, eig,
        perf: { tokens_per_s: tokensPerStep / stepS, step_s: stepS, data_wait_s: dataWait, elapsed_s: (performance.now() - t0) / 1000, rss_mb: rssMb(), peak_rss_mb: peakRssMb() },
      };
      metrics.write(rec);
      emit({ kind: 'step', step, total: tc.steps, loss: rec.loss, tokensPerSec: rec.perf.tokens_per_s });
      if (step % cfg.log.every === 0 || step === 1 || step === tc.steps) {
        log.info({ step, loss: rec.loss, lr, gradNorm: rec.grad_norm, tokPerSec: Math.round(rec.perf.tokens_per_s), updateRatio: rec.update_ratio, rssMb: Math.round(rec.perf.rss_mb) }, 'step');
      }

      if (verdict === 'stop') {
        status = 'stopped_nonfinite';
        log.error(guard.stopMessage(step));
        break;
      }
      const final = step === tc.steps;
      if ((cfg.eval.every > 0 && step % cfg.eval.every === 0) || (final && cfg.eval.at_end)) await evaluate();
      if ((cfg.checkpoint.every > 0 && step % cfg.checkpoint.every === 0) || final || stopNow) checkpoint(`checkpoint-${step}`);
      if (o.stopAfterStep !== undefined && step >= o.stopAfterStep && !final) {
        status = 'interrupted';
        break;
      }
      if (stopNow && !final) {
        status = 'interrupted';
        log.warn({ step }, 'interrupted: checkpoint written; resume with --resume');
        break;
      }
    }
  } catch (e) {
    failed = true;
    log.error({ step, err: (e as Error).message }, `failed at step ${step + 1}: ${(e as Error).message}`);
    throw e;
  } finally {
    const done = {
      kind: 'done' as const, step, tokens_seen: tokensSeen, status, nonfinite_count: guard.count, spike_count: spikes.spikes,
      perf: { wall_s: (performance.now() - t0) / 1000, peak_rss_mb: peakRssMb(), mean_tokens_per_s: trainTime > 0 ? trainTokens / trainTime : 0 },
    };
    // An interruption by a test hook imitates a crash: no done record, so the resumed file stays comparable.
    if (!failed && !(status === 'interrupted' && o.stopAfterStep !== undefined)) metrics.write(done);
    metrics.close();
    model.dispose();
    log.info({ step, status: failed ? 'failed' : status, peakRssMb: Math.round(done.perf.peak_rss_mb), meanTokPerSec: Math.round(done.perf.mean_tokens_per_s) }, 'done');
    emit({ kind: 'done', step, status });
  }
  return {
    status, step, tokensSeen, nonfiniteCount: guard.count, spikeCount: spikes.spikes, lastEval, lastCheckpoint,
    peakRssMb: peakRssMb(), meanTokensPerSec: trainTime > 0 ? trainTokens / trainTime : 0,
  };
}
