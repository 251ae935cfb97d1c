// Benchmarks of the compute core: raw sgemm, TF.js matMul through the lrnn backend in every transpose
// case, a 2-layer MLP training step, and a step whose parameters + gradients + Adam moments exceed 4 GB
// (the wasm32 heap cap the lrnn backend must not have).
import * as tf from '@tensorflow/tfjs-core';
import type { Bench, BenchResult } from '../bench/harness.ts';
import { timeMs } from '../bench/harness.ts';
import { backendReport, native } from './index.ts';
import { randomArray } from '../testing/assert.ts';

const M = 2048, K = 256, N = 1024;
const FLOP = 2 * M * K * N;

async function sgemm(): Promise<BenchResult> {
  const addon = native();
  if (!addon) throw new Error('native addon not loaded');
  const a = randomArray(M * K, 1), b = randomArray(K * N, 2), c = new Float32Array(M * N);
  const t = await timeMs(() => addon.sgemm(a, b, c, M, N, K, false, false), 15, 3);
  const r = await backendReport();
  return { name: 'matmul.sgemm', value: +(FLOP / t.median / 1e6).toFixed(1), unit: 'GFLOP/s', shape: `[${M},${K}]x[${K},${N}]`, median_ms: +t.median.toFixed(3), blas_core: r.blas?.coreName, blas_threads: r.blas?.threads };
}

async function tfjsMatMul(variant: 'nn' | 'nt' | 'tn' | 'tt', peak: number): Promise<BenchResult> {
  const ta = variant[0] === 't', tb = variant[1] === 't';
  const a = tf.tensor(randomArray(M * K, 3), ta ? [K, M] : [M, K]);
  const b = tf.tensor(randomArray(K * N, 4), tb ? [N, K] : [K, N]);
  const t = await timeMs(() => tf.matMul(a, b, ta, tb).dispose(), 15, 3);
  tf.dispose([a, b]);
  const gflops = FLOP / t.median / 1e6;
  return { name: `matmul.tfjs.${variant}`, value: +gflops.toFixed(1), unit: 'GFLOP/s', backend: tf.getBackend(), median_ms: +t.median.toFixed(3), of_sgemm: +(gflops / peak).toFixed(3) };
}

/** One training step of an MLP [rows,din] → hidden (ReLU) → din with MSE loss and an Adam update. */
function mlpStep(rows: number, din: number, hidden: number, seed: number) {
  const x = tf.tensor(randomArray(rows * din, seed), [rows, din]);
  const y = tf.tensor(randomArray(rows * din, seed + 1), [rows, din]);
  const scale = 1 / Math.sqrt(din);
  const w1 = tf.variable(tf.tensor(randomArray(din * hidden, seed + 2, -scale, scale), [din, hidden]));
  const b1 = tf.variable(tf.zeros([hidden]));
  const w2 = tf.variable(tf.tensor(randomArray(hidden * din, seed + 3, -scale, scale), [hidden, din]));
  const b2 = tf.variable(tf.zeros([din]));
  const opt = tf.train.adam(1e-3);
  const step = () => {
    const loss = opt.minimize(() => tf.mean(tf.squaredDifference(tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2), b2), y)) as tf.Scalar, true, [w1, b1, w2, b2]);
    const v = loss!.dataSync()[0]!;
    loss!.dispose();
    return v;
  };
  const dispose = () => {
    tf.dispose([x, y, w1, b1, w2, b2]);
    opt.dispose();
  };
  return { step, dispose, params: din * hidden * 2 + hidden + din };
}

async function mlp(): Promise<BenchResult> {
  const m = mlpStep(2048, 256, 1024, 10);
  const t = await timeMs(m.step, 10, 3);
  m.dispose();
  // 3 matmul FLOP counts per layer (forward, dX, dW), 2 layers.
  const flop = 3 * 2 * (2 * 2048 * 256 * 1024);
  return { name: 'mlp.step_ms', value: +t.median.toFixed(2), unit: 'ms', shape: '[2048,256]→1024→256, ReLU, MSE, Adam', backend: tf.getBackend(), min_ms: +t.min.toFixed(2), matmul_gflops_effective: +(flop / t.median / 1e6).toFixed(1) };
}

async function over4GB(): Promise<BenchResult> {
  // 2 × [12288, 12288] weights = 302M parameters: 1.2 GB of weights, 1.2 GB of gradients and 2.4 GB of Adam
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

let peak = 0;
export const benches: Bench[] = [
  { name: 'matmul.sgemm', run: async () => { const r = await sgemm(); peak = r.value; return r; } },
  ...(['nn', 'nt', 'tn', 'tt'] as const).map((v) => ({
    name: `matmul.tfjs.${v}`,
    run: async () => {
      if (!peak) peak = (await sgemm()).value;
      return tfjsMatMul(v, peak);
    },
  })),
  { name: 'mlp.step_ms', run: mlp },
  { name: 'mlp.over_4gb_step_ms', run: over4GB },
];
