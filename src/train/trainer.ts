// The pretraining loop: per step, the shared step engine (step.ts: microbatches → all-reduce → clip →
//   NaN/Inf guard → AdamW → step record) on the next token batches → metrics.jsonl → periodic eval and checkpoint.
// Exact resume: a checkpoint stores weights, AdamW moments and step, the data cursor, the RNG, the
// stability windows and the best eval loss, so a resumed run writes the same metrics as an unbroken one.
// The caller (cli/train.ts or a test) builds the data sources (at the resume cursor) and the logger.
// Test: node scripts/test.mjs src/train
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { configToToml } from '../config/load.ts';
import { rankBatchSize, type RunConfig } from '../config/schema.ts';
import { silentLogger, type Logger } from '../log/logger.ts';
import { MetricsWriter, type EvalRecord, type SplitEval } from '../log/metrics.ts';
import { buildModel, initModel, type CausalLM, type ModelConfig } from '../models/index.ts';
import { readCheckpointWeights } from '../models/checkpoint.ts';
import { evaluateValidation } from '../eval/validation.ts';
import { describeSchedule } from '../optim/schedule.ts';
import { BEST_DIR, RESOLVED_CONFIG_FILE, checkResumeModel, pruneCheckpoints, restoreOptimizer, saveTrainingCheckpoint, type FullTrainerState } from './checkpointing.ts';
import { Xoshiro128 } from '../util/rng.ts';
import type { BatchSource, EvalData } from './sources.ts';
import { StepEngine, peakRssMb, type StepWorld } from './step.ts';

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
  /** The model of a fresh run. A resumed run's model is its checkpoint's, which must equal this (checked here). */
  modelConfig: ModelConfig;
  /** The training stream, already positioned at the resume cursor when resuming. */
  data: BatchSource;
  evalData?: EvalData;
  /** UTF-8 bytes of a token id, for exact bits per byte in evaluations. */
  tokenBytes?: (id: number) => number;
  /** Data-parallel world (src/parallel/mpi.ts getWorld()); default: one process. The data must be this rank's shard. */
  world?: StepWorld;
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

export async function train(o: TrainOptions): Promise<TrainResult> {
  const cfg = o.config, tc = cfg.train;
  const log = (o.log ?? silentLogger()).child({ component: 'trainer' });
  const emit = o.onEvent ?? (() => {});
  const main = (o.world?.rank ?? 0) === 0;
  if (main) mkdirSync(o.runDir, { recursive: true });

  // --- model and state: fresh (seeded) or from the checkpoint
  let model: CausalLM;
  let rng: Xoshiro128;
  let step = 0, bestEval: number | null = null;
  if (o.resume) {
    const s = o.resume.state;
    const ck = readCheckpointWeights(o.resume.dir);
    checkResumeModel(o.resume.dir, ck.config, o.modelConfig);
    model = buildModel(ck.config, ck.weights);
    rng = Xoshiro128.fromJSON(s.rng);
    step = s.step;
    bestEval = s.best_eval_loss;
  } else {
    rng = new Xoshiro128(tc.seed);
    model = initModel(o.modelConfig, rng.nextU32());
  }
  // Overrides given at resume (e.g. more steps) become the run's config from here on.
  if (main) writeFileSync(path.join(o.runDir, RESOLVED_CONFIG_FILE), configToToml(cfg));
  const engine = new StepEngine({ model, train: tc, ...(o.world ? { world: o.world } : {}), ...(o.signal ? { signal: o.signal } : {}), warn: (f, m) => log.warn(f, m) });
  const { opt, sched, spikes, guard, world } = engine;
  engine.broadcastWeights();
  if (o.resume) {
    const s = o.resume.state;
    engine.resume(step, { tokensSeen: s.tokens_seen, spike: s.stability.spike, nonfiniteCount: s.stability.nonfinite_count });
    restoreOptimizer(o.resume.dir, model, opt, step);
  }
  // Rank 0 writes metrics and checkpoints; every rank computes the same numbers after the all-reduce.
  const writer = main ? new MetricsWriter(path.join(o.runDir, 'metrics.jsonl'), o.resume ? { resumeStep: step } : {}) : null;
  const metrics = { write: (r: Parameters<MetricsWriter['write']>[0]) => writer?.write(r), close: () => writer?.close() };
  const rankB = rankBatchSize(tc, world.size);
  const tokensPerStep = rankB * cfg.data.seq_len * tc.grad_accum * world.size;
  log.info({ run: cfg.name, params: model.numParameters(), step, steps: tc.steps, tokensPerStep, resumedFrom: o.resume?.dir ?? null, config: cfg }, o.resume ? 'resuming' : 'starting');
  emit({ kind: 'start', step, total: tc.steps, params: model.numParameters() });

  let lastEval: Record<string, SplitEval> | null = null;
  let lastCheckpoint: string | null = null;
  let status: TrainResult['status'] = 'completed';
  const t0 = engine.t0;

  // --- checkpoint and eval helpers (closures over the loop state)
  const state = (): FullTrainerState => ({
    format_version: 1, step, tokens_seen: engine.tokensSeen, data_cursor: o.data.cursor(), rng: rng.toJSON(),
    optimizer: opt.describe(engine.lastLr, tc.clip > 0 ? tc.clip : null) as FullTrainerState['optimizer'],
    lr_schedule: describeSchedule(sched), batch: { sequences: rankB, seq_len: cfg.data.seq_len, grad_accum: tc.grad_accum },
    last_loss: engine.lastLoss, wall_time_s: (o.resume?.state.wall_time_s as number | undefined ?? 0) + (performance.now() - t0) / 1000,
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
    const rec: EvalRecord = { kind: 'eval', step, tokens_seen: engine.tokensSeen, splits, mean_loss: mean, perf: { eval_s: (performance.now() - te) / 1000 } };
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
      const n = step + 1;
      const { record: rec, verdict, stopNow } = await engine.step(n, async (_micro, last) => {
        const b = await o.data.next();
        const tokens = tf.tensor2d(b.tokens, [b.rows, b.width], 'int32');
        return { loss: () => model.loss(tokens, { collectStats: last }), tokens: rankB * cfg.data.seq_len, done: () => tokens.dispose() };
      }, o.injectNonfinite?.includes(n));
      step = n;
      const lr = rec.lr;
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
      kind: 'done' as const, step, tokens_seen: engine.tokensSeen, status, nonfinite_count: guard.count, spike_count: spikes.spikes,
      perf: { wall_s: (performance.now() - t0) / 1000, peak_rss_mb: peakRssMb(), mean_tokens_per_s: engine.meanTokensPerSec() },
    };
    // An interruption by a test hook imitates a crash: no done record, so the resumed file stays comparable.
    if (!failed && !(status === 'interrupted' && o.stopAfterStep !== undefined)) metrics.write(done);
    metrics.close();
    model.dispose();
    log.info({ step, status: failed ? 'failed' : status, peakRssMb: Math.round(done.perf.peak_rss_mb), meanTokPerSec: Math.round(done.perf.mean_tokens_per_s) }, 'done');
    emit({ kind: 'done', step, status });
  }
  return {
    status, step, tokensSeen: engine.tokensSeen, nonfiniteCount: guard.count, spikeCount: spikes.spikes, lastEval, lastCheckpoint,
    peakRssMb: peakRssMb(), meanTokensPerSec: engine.meanTokensPerSec(),
  };
}
