// The one optimizer step of every training loop (`lrnn train` in trainer.ts, `lrnn task train` in
// tasks/train.ts): microbatches (forward + backward, gradients summed into one flat host buffer) → yield to
// the event loop → all-reduce over ranks (the loss and the stop flag ride along) → average → clip (norms
// reported before clipping) → NaN/Inf guard → AdamW → spike z-score → the metrics.jsonl step record.
// The engine owns the optimizer and the stability state, so a checkpoint of it (optimizer moments, guard
// count, spike window, tokens seen) resumes exactly; the caller owns the model, the data and the files.
// Test: node scripts/test.mjs src/train
import * as tf from '@tensorflow/tfjs-core';
import { f32, fromF32 } from '../backend/index.ts';
import type { TrainConfig } from '../config/schema.ts';
import type { EigStat, StepRecord } from '../log/metrics.ts';
import type { CausalLM } from '../models/index.ts';
import { AdamW } from '../optim/adamw.ts';
import { clipGradNorm, paramGroup } from '../optim/clip.ts';
import { lrAt, type ScheduleOptions } from '../optim/schedule.ts';
import type { World } from '../parallel/mpi.ts';
import { NonfiniteGuard, SpikeDetector, UpdateRatio, type StepVerdict } from './stability.ts';

export type StepWorld = Pick<World, 'rank' | 'size' | 'allreduceSum' | 'bcast'>;
export const SINGLE: StepWorld = { rank: 0, size: 1, allreduceSum: () => {}, bcast: () => {} };

/** One microbatch as the caller builds it. */
export interface Microbatch {
  /** The scalar loss, built inside tf.variableGrads (so it may only use the model's variables). */
  loss: () => tf.Scalar;
  /** Tokens this microbatch trains on (for tokens_seen and tokens/s). */
  tokens: number;
  /** Called once the gradients are summed: dispose inputs, read tensors kept by `loss`. */
  done?: () => void;
}

export interface StepOutcome {
  record: StepRecord;
  verdict: StepVerdict;
  /** The stop flag (AbortSignal) of any rank was set at this step. */
  stopNow: boolean;
  /** This step's loss (NaN/Inf kept, unlike record.loss). */
  loss: number;
}

export interface StepEngineOptions {
  model: CausalLM;
  train: TrainConfig;
  world?: StepWorld;
  /** Checked once per step, after the yield; a set signal on any rank stops every rank at the same step. */
  signal?: AbortSignal;
  /** Warn about skipped steps and spikes (the trainer's pino logger, or a line printer). */
  warn?: (fields: Record<string, unknown>, msg: string) => void;
}

const rssMb = () => process.memoryUsage().rss / 2 ** 20;
export const peakRssMb = () => process.resourceUsage().maxRSS / 1024;
export const finiteOrNull = (x: number) => (Number.isFinite(x) ? x : null);

export class StepEngine {
  readonly opt: AdamW;
  readonly sched: ScheduleOptions;
  readonly spikes: SpikeDetector;
  readonly guard: NonfiniteGuard;
  readonly world: StepWorld;
  tokensSeen = 0;
  /** lr of the last step taken (0 before the first). */
  lastLr = 0;
  /** Last finite loss. */
  lastLoss: number | null = null;
  /** Seconds and tokens of the steps taken by this process (for the mean tokens/s). */
  trainTime = 0;
  trainTokens = 0;
  readonly t0 = performance.now();
  private readonly names: string[];
  private readonly vars: tf.Variable[];
  private readonly offsets: number[] = [];
  private readonly totalParams: number;

  constructor(private readonly o: StepEngineOptions) {
    const tc = o.train;
    this.world = o.world ?? SINGLE;
    this.names = [...o.model.params.keys()];
    this.vars = this.names.map((n) => o.model.params.get(n)!);
    let total = 0;
    for (const v of this.vars) { this.offsets.push(total); total += v.size; }
    this.totalParams = total;
    this.spikes = new SpikeDetector(tc.spike_window, tc.spike_z);
    this.guard = new NonfiniteGuard(tc.max_nonfinite_steps);
    this.opt = new AdamW(this.names.map((n, i) => ({ name: n, shape: this.vars[i]!.shape })), { betas: tc.betas, eps: tc.eps, weightDecay: tc.weight_decay });
    this.sched = { type: tc.schedule, lr: tc.lr, minLr: tc.min_lr, warmup: tc.warmup, total: tc.steps, decayFrac: tc.decay_frac };
  }

  /** Every rank starts from rank 0's weights (a fact rather than an assumption about identical seeds and files). */
  broadcastWeights(): void {
    if (this.world.size > 1) for (const v of this.vars) this.world.bcast(f32(v), 0);
  }

  /** Continues from a checkpoint's stability state and step (the optimizer moments are restored by the caller). */
  resume(step: number, s: { tokensSeen: number; spike: { window: number[]; spikes: number }; nonfiniteCount: number }): void {
    this.tokensSeen = s.tokensSeen;
    this.spikes.restore(s.spike);
    this.guard.count = s.nonfiniteCount;
    this.lastLr = step > 0 ? lrAt(step, this.sched) : 0;
  }

  /**
   * Optimizer step `n` (1-based). `next(micro, last)` gives microbatch `micro` of train.grad_accum; the last
   * one collects the model's eigenvalue statistics. `poison` replaces the loss by NaN (tests of the guard).
   */
  async step(n: number, next: (micro: number, last: boolean) => Promise<Microbatch>, poison = false): Promise<StepOutcome> {
    const tStep = performance.now();
    const { model, train: tc } = this.o;
    const { names, vars, offsets, totalParams, world } = this;
    const lr = lrAt(n, this.sched);

    // Microbatches: gradients summed on the host into one flat buffer (views per parameter), summed over
    // ranks (data parallel), then averaged over microbatches × ranks.
    let dataWait = 0, lossSum = 0, tokens = 0;
    const flat = new Float32Array(totalParams + 2);
    const grads = new Map(names.map((name, i) => [name, flat.subarray(offsets[i]!, offsets[i]! + vars[i]!.size)]));
    let eig: EigStat[] = [];
    for (let micro = 0; micro < tc.grad_accum; ++micro) {
      const last = micro === tc.grad_accum - 1;
      const tw = performance.now();
      const mb = await next(micro, last);
      dataWait += (performance.now() - tw) / 1000;
      tokens += mb.tokens;
      const { value, grads: g } = tf.variableGrads(mb.loss, vars);
      lossSum += (await value.data())[0]!;
      names.forEach((name, i) => {
        const gi = f32(g[vars[i]!.name]!), acc = grads.get(name)!;
        if (micro === 0) acc.set(gi);
        else for (let j = 0; j < acc.length; ++j) acc[j]! += gi[j]!;
      });
      tf.dispose([value, g]);
      mb.done?.();
      if (last) eig = model.lastStats.map((s) => ({ layer: s.layer, kind: s.quantity, frac_ext: s.fracOut, min: s.min, max: s.max }));
    }
    // The loss and the Ctrl-C flag ride along in the same reduction, so every rank stops at the same step.
    // Yield once per step so a SIGINT/SIGTERM handler can run and set the flag (the loop is otherwise synchronous).
    await new Promise((r) => setImmediate(r));
    flat[totalParams] = lossSum;
    flat[totalParams + 1] = this.o.signal?.aborted ? 1 : 0;
    if (world.size > 1) world.allreduceSum(flat);
    const parts = tc.grad_accum * world.size;
    if (parts > 1) for (let j = 0; j < flat.length; ++j) flat[j]! /= parts;
    let loss = world.size > 1 ? flat[totalParams]! : lossSum / tc.grad_accum;
    const stopNow = flat[totalParams + 1]! > 0;
    if (poison) loss = NaN;

    // Clip (norms reported before clipping), then the NaN/Inf rule, then the update.
    const clip = clipGradNorm(grads, tc.clip > 0 ? tc.clip : null);
    const verdict = this.guard.check(loss, clip.norm);
    const ratio = new UpdateRatio();
    if (verdict === 'ok') {
      const values = new Map(names.map((name, i) => [name, f32(vars[i]!).slice()]));
      this.opt.update(values, grads, lr);
      tf.tidy(() => names.forEach((name, i) => {
        const after = values.get(name)!;
        ratio.add(after, f32(vars[i]!), paramGroup(name));
        vars[i]!.assign(fromF32(after, vars[i]!.shape));
      }));
    } else {
      this.o.warn?.({ step: n, loss: finiteOrNull(loss), gradNorm: finiteOrNull(clip.norm), nonfinite: this.guard.count }, 'non-finite loss or gradient: step skipped');
    }
    const stepTokens = tokens * world.size;
    this.lastLr = lr;
    this.tokensSeen += stepTokens;
    const spike = this.spikes.observe(loss);
    if (spike.spike) this.o.warn?.({ step: n, loss, z: spike.z }, 'loss spike');
    if (Number.isFinite(loss)) this.lastLoss = loss;

    const stepS = (performance.now() - tStep) / 1000;
    this.trainTime += stepS;
    this.trainTokens += stepTokens;
    const record: StepRecord = {
      kind: 'step', step: n, tokens_seen: this.tokensSeen, loss: finiteOrNull(loss), lr, grad_norm: finiteOrNull(clip.norm),
      grad_norm_groups: Object.fromEntries(Object.entries(clip.groups).map(([k, v]) => [k, finiteOrNull(v)])),
      clipped: clip.clipped, update_ratio: ratio.value(), skipped: verdict !== 'ok', nonfinite_count: this.guard.count,
      loss_z: spike.z, spike: spike.spike, spike_count: this.spikes.spikes, eig,
      perf: { tokens_per_s: stepTokens / stepS, step_s: stepS, data_wait_s: dataWait, elapsed_s: (performance.now() - this.t0) / 1000, rss_mb: rssMb(), peak_rss_mb: peakRssMb() },
    };
    return { record, verdict, stopNow, loss };
  }

  meanTokensPerSec(): number {
    return this.trainTime > 0 ? this.trainTokens / this.trainTime : 0;
  }
}
