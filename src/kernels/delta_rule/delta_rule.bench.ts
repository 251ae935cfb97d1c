// Benchmarks of deltaRule forward+backward through tf.grads at B8 H4 T256 K=V=64 (2048 tokens per call):
// delta_rule.fused (native C++), delta_rule.ts_fallback (pure TS), delta_rule.chunk (TF.js ops, chunk 64).
// FLOPs are counted by the fused algorithm (README.md §6): 6KV per token-head forward, 14KV backward.
import * as tf from '@tensorflow/tfjs-core';
import type { Bench, BenchResult } from '../../testing/bench_harness.ts';
import { timeMs } from '../../testing/bench_harness.ts';
import { randomArray } from '../../testing/assert.ts';
import { deltaRule, type DeltaRuleVariant } from './index.ts';

const B = 8, H = 4, T = 256, K = 64, V = 64;

function inputs(): { q: tf.Tensor4D; k: tf.Tensor4D; v: tf.Tensor4D; beta: tf.Tensor3D; dO: tf.Tensor4D } {
  return tf.tidy(() => {
    const kr = tf.tensor4d(randomArray(B * T * H * K, 2), [B, T, H, K]);
    return {
      q: tf.tensor4d(randomArray(B * T * H * K, 1), [B, T, H, K]),
      k: tf.div(kr, tf.norm(kr, 2, -1, true)) as tf.Tensor4D,
      v: tf.tensor4d(randomArray(B * T * H * V, 3), [B, T, H, V]),
      beta: tf.tensor3d(randomArray(B * T * H, 4, 0, 2), [B, T, H]),
      dO: tf.tensor4d(randomArray(B * T * H * V, 5), [B, T, H, V]),
    };
  });
}

async function measure(name: string, variant: DeltaRuleVariant, reps: number, warmup: number): Promise<BenchResult> {
  const x = inputs();
  const scale = 1 / Math.sqrt(K);
  // Backward from the upstream gradient dO given to tf.grads directly (no surrogate loss ops in the timing).
  const f = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, beta: tf.Tensor) =>
    deltaRule(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, beta as tf.Tensor3D, { scale, variant, chunkSize: 64 }).o;
  const step = () => {
    const g = tf.grads(f)([x.q, x.k, x.v, x.beta], x.dO);
    for (const t of g) t.dataSync();
    tf.dispose(g);
  };
  // Forward alone, as in evaluation: no tape, so nothing is saved for a backward. (The tidy must not return the
  // typed array: it would walk every element looking for tensors.)
  const fwd = await timeMs(() => tf.tidy(() => {
    deltaRule(x.q, x.k, x.v, x.beta, { scale, variant, chunkSize: 64 }).o.dataSync();
  }), reps, warmup);
  const t = await timeMs(step, reps, warmup);
  // CPU time of the whole process (all its threads, GC included) per call: on a shared machine wall time also
  // includes waiting for a core, so this bounds the single-thread cost from above when the machine is busy.
  const c0 = process.cpuUsage();
  for (let i = 0; i < reps; ++i) step();
  const c1 = process.cpuUsage(c0);
  const cpuMs = (c1.user + c1.system) / 1e3 / reps;
  tf.dispose(x);
  const tokens = B * T;
  const flops = B * T * H * (6 + 14) * K * V;
  return {
    name, value: Math.round(tokens / (t.median / 1e3)), unit: 'tokens/s',
    shape: `B${B} H${H} T${T} K${K} V${V}`, backend: tf.getBackend(), variant,
    fwdBwdMs: +t.median.toFixed(2), fwdBwdMinMs: +t.min.toFixed(2), tokensPerSBest: Math.round(tokens / (t.min / 1e3)),
    fwdMs: +fwd.median.toFixed(2),
    fwdTokensPerS: Math.round(tokens / (fwd.median / 1e3)),
    flopsFwdBwd: flops, gflopsPerS: +(flops / (t.median / 1e3) / 1e9).toFixed(2),
    processCpuMsFwdBwd: +cpuMs.toFixed(2), tokensPerProcessCpuS: Math.round(tokens / (cpuMs / 1e3)),
  };
}

export const benches: Bench[] = [
  { name: 'delta_rule.fused', run: () => measure('delta_rule.fused', 'native', 15, 3) },
  { name: 'delta_rule.ts_fallback', run: () => measure('delta_rule.ts_fallback', 'fused_ts', 3, 1) },
  { name: 'delta_rule.chunk', run: () => measure('delta_rule.chunk', 'chunk', 3, 1) },
];
