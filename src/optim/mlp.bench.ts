// A 2-layer MLP training step (forward + backward through TF.js autodiff + AdamW update) on the active
// backend, and the same step at a size whose parameters + gradients + AdamW moments exceed 4 GB (the wasm32
// heap cap the lrnn backend must not have). Here in optim/, the lowest layer that has both the backend and AdamW.
import * as tf from '@tensorflow/tfjs-core';
import { f32 } from '../backend/index.ts';
import { randomArray } from '../testing/assert.ts';
import type { Bench, BenchResult } from '../testing/bench_harness.ts';
import { timeMs } from '../testing/bench_harness.ts';
import { AdamW, adamwIsNative } from './adamw.ts';

/** One training step of an MLP [rows,din] → hidden (ReLU) → din with MSE loss and an AdamW update. */
function mlpStep(rows: number, din: number, hidden: number, seed: number) {
  const x = tf.tensor(randomArray(rows * din, seed), [rows, din]);
  const y = tf.tensor(randomArray(rows * din, seed + 1), [rows, din]);
  const scale = 1 / Math.sqrt(din);
  const params = {
    w1: tf.variable(tf.tensor(randomArray(din * hidden, seed + 2, -scale, scale), [din, hidden]), true, `w1_${seed}`),
    b1: tf.variable(tf.zeros([hidden]), true, `b1_${seed}`),
    w2: tf.variable(tf.tensor(randomArray(hidden * din, seed + 3, -scale, scale), [hidden, din]), true, `w2_${seed}`),
    b2: tf.variable(tf.zeros([din]), true, `b2_${seed}`),
  };
  const vars = Object.values(params);
  const opt = new AdamW(vars.map((v) => ({ name: v.name, shape: v.shape })), { betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.1 });
  const values = new Map(vars.map((v) => [v.name, f32(v)]));
  const step = () => {
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.squaredDifference(
      tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, params.w1), params.b1)), params.w2), params.b2), y)) as tf.Scalar, vars);
    // The variables own their storage (made from fresh tensors), so AdamW updates it in place.
    opt.update(values, new Map(vars.map((v) => [v.name, f32(grads[v.name]!)])), 1e-3);
    const loss = value.dataSync()[0]!;
    tf.dispose([value, ...Object.values(grads)]);
    return loss;
  };
  const dispose = () => tf.dispose([x, y, ...vars]);
  return { step, dispose, params: din * hidden * 2 + hidden + din };
}

async function mlp(): Promise<BenchResult> {
  const m = mlpStep(2048, 256, 1024, 10);
  const t = await timeMs(m.step, 15, 3);
  m.dispose();
  const flop = 3 * 2 * (2 * 2048 * 256 * 1024); // forward, dX and dW matmuls of both layers
  return { name: 'mlp.step_ms', value: +t.median.toFixed(2), unit: 'ms', shape: '[2048,256]→1024→256, ReLU, MSE, AdamW', backend: tf.getBackend(), adamw_native: adamwIsNative(), min_ms: +t.min.toFixed(2), matmul_gflops_effective: +(flop / t.median / 1e6).toFixed(1) };
}

async function over4GB(): Promise<BenchResult> {
  // 2 × [12288, 12288] weights = 302M parameters: 1.2 GB of weights, 1.2 GB of gradients and 2.4 GB of AdamW
  // moments, 4.8 GB in all — more than a wasm32 heap can address.
  const din = 12288, hidden = 12288, rows = 32;
  const m = mlpStep(rows, din, hidden, 20);
  const bytes = m.params * 4 * 4;
  const first = m.step();
  const t = await timeMs(m.step, 1, 0);
  const rss = process.memoryUsage().rss;
  m.dispose();
  if (!Number.isFinite(first)) throw new Error('non-finite loss');
  if (bytes <= 4 * 2 ** 30) throw new Error(`only ${bytes} bytes of parameters, gradients and moments`);
  return { name: 'mlp.over_4gb_step_ms', value: +t.median.toFixed(0), unit: 'ms', params: m.params, params_grads_adam_bytes: bytes, rss_bytes: rss, backend: tf.getBackend(), loss: first };
}

export const benches: Bench[] = [
  { name: 'mlp.step_ms', run: mlp },
  { name: 'mlp.over_4gb_step_ms', run: over4GB },
];
