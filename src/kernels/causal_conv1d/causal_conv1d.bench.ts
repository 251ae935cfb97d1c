// Throughput of the causal depthwise conv1d (Mamba's short conv: W = 4, bias, SiLU), forward + backward
// through the TF.js op, at the selective-scan bench's shape (B8 T256, d_inner 512).
import * as tf from '@tensorflow/tfjs-core';
import type { Bench, BenchResult } from '../../testing/bench_harness.ts';
import { timeMs } from '../../testing/bench_harness.ts';
import { randn } from '../../testing/assert.ts';
import { type CausalConv1dVariant, causalConv1d } from './index.ts';

const Bz = 8, T = 256, C = 512, W = 4;
// Per output element: forward 2W (multiply-add per tap) + 1 (bias); backward the same for dx and for dweight.
// SiLU and its derivative are not counted.
const FLOP_PER_ELEM = 3 * (2 * W + 1);

async function throughput(name: string, variant: CausalConv1dVariant, reps: number): Promise<BenchResult> {
  const t = (shape: number[], seed: number) => tf.tensor(Float32Array.from(randn(shape.reduce((a, b) => a * b, 1), seed)), shape);
  const x = t([Bz, T, C], 1) as tf.Tensor3D, w = t([C, W], 2) as tf.Tensor2D, b = t([C], 3) as tf.Tensor1D, dy = t([Bz, T, C], 4);
  const loss = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
    tf.sum(tf.mul(causalConv1d(xx as tf.Tensor3D, ww as tf.Tensor2D, { bias: bb as tf.Tensor1D, activation: 'silu', variant }), dy));
  const step = () => tf.dispose(tf.grads(loss)([x, w, b]));
  const tm = await timeMs(step, reps, 1);
  tf.dispose([x, w, b, dy]);
  const tokens = Bz * T, flop = FLOP_PER_ELEM * Bz * T * C;
  return {
    name, value: Math.round(tokens / (tm.median / 1e3)), unit: 'tokens/s', shape: `B${Bz} T${T} C${C} W${W}`, variant,
    median_ms: +tm.median.toFixed(2), flop_per_step: flop, gflops: +(flop / tm.median / 1e6).toFixed(2), threads: 1,
  };
}

export const benches: Bench[] = [
  { name: 'causal_conv1d.fused', run: () => throughput('causal_conv1d.fused', 'auto', 7) },
  { name: 'causal_conv1d.ts_fallback', run: () => throughput('causal_conv1d.ts_fallback', 'fused_ts', 3) },
];
