// The one optimizer step of every training loop (`lrnn train` in trainer.ts, `lrnn task train` in
// tasks/train.ts): microbatches (forward + backward, gradients summed into one flat host buffer) → yield to
// the event loop → all-reduce over ranks (the loss and the stop flag ride along) → average → clip (norms
// reported before clipping) → NaN/Inf guard → AdamW → spike z-score → the metrics.jsonl step record.
// The engine owns the optimizer and the stability state, so a checkpoint of it (optimizer moments, guard
// count, spike window, tokens seen) resumes exactly; the caller owns the model, the data and the files.
// Test: node scripts/test.mjs src/train
import * as tf from '@tensorflow/tfjs-core';
import { exclusiveF32, f32, fromF32, ownedF32 } from '../backend/index.ts';
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
  /** The parameter storage this engine made private (ownedF32), updated in place by AdamW every step. */
  private readonly storage: (Float32Array | null)[];
  /** Ranks > 1: one flat buffer for the all-reduce (gradients, loss, stop flag), reused every step. */
  private flat: Float32Array | null = null;

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
    // One private copy of each parameter now (a variable may share the caller's arrays), none per step.
    this.storage = this.vars.map((v) => ownedF32(v, null));
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

    // Microbatches: gradients summed on the host, summed over ranks (data parallel), then averaged over
    // microbatches × ranks. One rank: the first microbatch's gradient tensors are the buffers (the later ones
    // are added into them, clipping scales them in place), disposed after the update. Ranks > 1: one flat
    // buffer, so the loss and the stop flag ride in the same all-reduce.
    let dataWait = 0, lossSum = 0, tokens = 0;
    const flat = world.size > 1 ? (this.flat ??= new Float32Array(totalParams + 2)) : null;
    const grads = new Map<string, Float32Array>();
    let held: tf.Tensor[] = [];
    let eig: EigStat[] = [];
    let loss: number, stopNow: boolean, clip: ReturnType<typeof clipGradNorm>, verdict: StepVerdict;
    const ratio = new UpdateRatio();
    try {
      for (let micro = 0; micro < tc.grad_accum; ++micro) {
        const last = micro === tc.grad_accum - 1;
        const tw = performance.now();
        const mb = await next(micro, last);
        dataWait += (performance.now() - tw) / 1000;
        tokens += mb.tokens;
        const { value, grads: g } = tf.variableGrads(mb.loss, vars);
        lossSum += (await value.data())[0]!;
        names.forEach((name, i) => {
          const t = g[vars[i]!.name]!;
          if (micro === 0) {
            if (flat) {
              const acc = flat.subarray(offsets[i]!, offsets[i]! + vars[i]!.size);
              acc.set(f32(t));
              grads.set(name, acc);
            } else {
              // A gradient that shares storage (a view, or one tensor for two inputs) is copied before it is changed.
              grads.set(name, exclusiveF32(t) ?? f32(t).slice());
            }
          } else {
            const gi = f32(t), acc = grads.get(name)!;
            for (let j = 0; j < acc.length; ++j) acc[j]! += gi[j]!;
          }
        });
        if (micro === 0 && !flat) held = Object.values(g);
        else tf.dispose(g);
        value.dispose();
        mb.done?.();
        if (last) eig = model.lastStats.map((s) => ({ layer: s.layer, kind: s.quantity, frac_ext: s.fracOut, min: s.min, max: s.max }));
      }
      // The loss and the Ctrl-C flag ride along in the same reduction, so every rank stops at the same step.
      // Yield once per step so a SIGINT/SIGTERM handler can run and set the flag (the loop is otherwise synchronous).
      await new Promise((r) => setImmediate(r));
      const parts = tc.grad_accum * world.size;
      if (flat) {
        flat[totalParams] = lossSum;
        flat[totalParams + 1] = this.o.signal?.aborted ? 1 : 0;
        world.allreduceSum(flat);
        for (let j = 0; j < flat.length; ++j) flat[j]! /= parts;
        loss = flat[totalParams]!;
        stopNow = flat[totalParams + 1]! > 0;
      } else {
        if (parts > 1) for (const acc of grads.values()) for (let j = 0; j < acc.length; ++j) acc[j]! /= parts;
        loss = lossSum / tc.grad_accum;
        stopNow = !!this.o.signal?.aborted;
      }
      if (poison) loss = NaN;

      // Clip (norms reported before clipping), then the NaN/Inf rule, then the update: AdamW writes the
      // parameters' own storage and measures ‖Δp‖ and ‖p‖ as it goes (no copy of the old values).
      clip = clipGradNorm(grads, tc.clip > 0 ? tc.clip : null);
      verdict = this.guard.check(loss, clip.norm);
      if (verdict === 'ok') {
        const sink = (name: string, diff: number, base: number) => ratio.addSums(diff, base, paramGroup(name));
        this.storage.forEach((s, i) => (this.storage[i] = ownedF32(vars[i]!, s)));
        if (this.storage.every((s) => s !== null)) {
          this.opt.update(new Map(names.map((name, i) => [name, this.storage[i]!])), grads, lr, sink);
        } else {
          // Backends without TypedArray storage (wasm, GPU): update host copies, then assign them.
          const values = new Map(names.map((name, i) => [name, f32(vars[i]!).slice()]));
          this.opt.update(values, grads, lr, sink);
          tf.tidy(() => names.forEach((name, i) => vars[i]!.assign(fromF32(values.get(name)!, vars[i]!.shape))));
        }
      } else {
        this.o.warn?.({ step: n, loss: finiteOrNull(loss), gradNorm: finiteOrNull(clip.norm), nonfinite: this.guard.count }, 'non-finite loss or gradient: step skipped');
      }
    } finally {
      tf.dispose(held);
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
