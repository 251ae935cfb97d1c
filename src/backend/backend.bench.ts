// Benchmarks of the compute core: raw sgemm and TF.js matMul through the lrnn backend in every transpose
// case. The MLP training-step benches are in src/optim/mlp.bench.ts (they use the optimizer).
import * as tf from '@tensorflow/tfjs-core';
import type { Bench, BenchResult } from '../testing/bench_harness.ts';
import { timeMs } from '../testing/bench_harness.ts';
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
];
