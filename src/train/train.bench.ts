// Training throughput of the paired small recipes at one BLAS thread: tokens/s of a full step (forward +
// backward + clip + AdamW, the trainer's arithmetic) on synthetic tokens, with the matmul MFU against the
// machine's measured sgemm peak, the share of step time spent in the recurrent kernels, the step's top
// kernels by time (name, ms, share of kernel time, calls), the kernels run per step, and peak RSS against the
// training state (parameters + gradients + two AdamW moments) so memory regressions show up too.
// Run: npm run bench -- --only train.
import * as tf from '@tensorflow/tfjs-core';
import type { Bench, BenchResult } from '../testing/bench_harness.ts';
import { timeMs } from '../testing/bench_harness.ts';
import { f32, initBackend, native, ownedF32 } from '../backend/index.ts';
import { loadConfig } from '../config/load.ts';
import { initModel, modelConfigFromRecipe } from '../models/index.ts';
import { AdamW } from '../optim/adamw.ts';
import { clipGradNorm } from '../optim/clip.ts';
import { randomArray } from '../testing/assert.ts';

async function sgemmPeakGflops(): Promise<number> {
  const addon = native();
  if (!addon) return NaN;
  const M = 2048, K = 256, N = 1024;
  const a = randomArray(M * K, 1), b = randomArray(K * N, 2), c = new Float32Array(M * N);
  const t = await timeMs(() => addon.sgemm(a, b, c, M, N, K, false, false), 9, 2);
  return (2 * M * K * N) / t.median / 1e6;
}

async function trainBench(recipe: string): Promise<BenchResult> {
  await initBackend({ blasThreads: 1 });
  const cfg = loadConfig(recipe).config;
  const mc = modelConfigFromRecipe(cfg.model, 8192);
  const model = initModel(mc, 1);
  const names = [...model.params.keys()];
  const vars = names.map((n) => model.params.get(n)!);
  const opt = new AdamW(names.map((n, i) => ({ name: n, shape: vars[i]!.shape })), { betas: cfg.train.betas, eps: cfg.train.eps, weightDecay: cfg.train.weight_decay });
  const B = cfg.train.batch_size, T = cfg.data.seq_len;
  const ids = new Int32Array(B * (T + 1));
  for (let i = 0; i < ids.length; ++i) ids[i] = (i * 2654435761) % mc.vocab_size >>> 0;
  const tokens = tf.tensor2d(ids, [B, T + 1], 'int32');
  // AdamW updates the variables' own storage (ownedF32) and the gradients are the gradient tensors' storage
  // (clipped in place, disposed after the update): no per-step copies, no re-created parameter tensors.
  const step = async () => {
    const { value, grads } = tf.variableGrads(() => model.loss(tokens), vars);
    await value.data();
    const g = new Map(names.map((n, i) => [n, f32(grads[vars[i]!.name]!)]));
    clipGradNorm(g, cfg.train.clip);
    const p = new Map(names.map((n, i) => [n, ownedF32(vars[i]!) ?? f32(vars[i]!)]));
    opt.update(p, g, cfg.train.lr);
    tf.dispose([value, grads]);
  };
  const t = await timeMs(step, 3, 1);
  // Saved activations: the tensor bytes the forward pass leaves alive for the backward pass (every tensor
  // made inside variableGrads' forward stays on the tape until the gradients are taken).
  let activationBytes = 0;
  {
    const before = tf.memory().numBytes;
    const { value, grads } = tf.variableGrads(() => {
      const loss = model.loss(tokens);
      activationBytes = tf.memory().numBytes - before;
      return loss;
    }, vars);
    tf.dispose([value, grads]);
  }
  // Where one profiled step spends its kernel time: recurrent kernels (delta rule / selective scan, forward
  // and backward) and the top kernels by name.
  const prof = await tf.profile(step);
  let recurrent = 0, all = 0;
  const byName = new Map<string, { ms: number; calls: number }>();
  for (const k of prof.kernels) {
    const ms = Number(await k.kernelTimeMs) || 0;
    all += ms;
    if (/delta|scan|selective/i.test(k.name)) recurrent += ms;
    const e = byName.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += ms;
    e.calls += 1;
    byName.set(k.name, e);
  }
  const top = [...byName].sort((a, b) => b[1].ms - a[1].ms).slice(0, 10)
    .map(([name, e]) => ({ name, ms: +e.ms.toFixed(1), share: all > 0 ? +(e.ms / all).toFixed(3) : null, calls: e.calls }));
  // Parameters + gradients + AdamW m and v, float32: the floor of a step's memory before activations.
  const stateBytes = 4 * 4 * model.numParameters();
  // maxRSS is the process's peak so far (KiB on Linux): with --only train.<one> it is this model's step.
  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  // Matmul parameters: every rank-2 weight but embeddings and A_log (+ the tied head, which reuses the embedding).
  let pMm = 0;
  for (const [n, v] of model.params) if (v.rank === 2 && !/embed|A_log/.test(n)) pMm += v.size;
  if (mc.tie_word_embeddings) pMm += mc.vocab_size * mc.hidden_size;
  const tokPerStep = B * T;
  const gflops = (6 * pMm * tokPerStep) / t.median / 1e6;
  const peak = await sgemmPeakGflops();
  const result: BenchResult = {
    name: `train.${recipe}`, value: +(tokPerStep / (t.median / 1000)).toFixed(1), unit: 'tokens/s',
    step_ms: +t.median.toFixed(1), batch: `${B}x${T}`, params: model.numParameters(), matmul_params: pMm,
    matmul_gflops: +gflops.toFixed(2), sgemm_peak_gflops: +peak.toFixed(1), mfu: +(gflops / peak).toFixed(3),
    recurrent_kernel_share: all > 0 ? +(recurrent / all).toFixed(3) : null, backend: tf.getBackend(),
    kernels_per_step: prof.kernels.length, kernel_ms: +all.toFixed(1), top_kernels: top,
    peak_rss_mb: peakRssMb, train_state_mb: Math.round(stateBytes / 2 ** 20),
    activations_mb: Math.round(activationBytes / 2 ** 20),
    // The memory bound: a step should need at most about twice (state + saved activations).
    rss_over_state_and_activations: +(peakRssMb / ((stateBytes + activationBytes) / 2 ** 20)).toFixed(2),
    profiled_new_tensors: prof.newTensors, profiled_peak_bytes_mb: Math.round(prof.peakBytes / 2 ** 20),
  };
  tokens.dispose();
  model.dispose();
  return result;
}

export const benches: Bench[] = [
  { name: 'train.deltanet-small', run: () => trainBench('deltanet-small') },
  { name: 'train.mamba-small', run: () => trainBench('mamba-small') },
];
