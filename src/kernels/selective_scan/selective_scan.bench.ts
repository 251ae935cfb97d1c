// Throughput of the Mamba-1 selective scan, forward + backward through the TF.js op (tf.grads), at the
// issue's shape B8 T256 d_inner 512 N16 with the Mamba block's options (D, z, Δ bias, softplus,
// allow_neg_eigval on). Also the raw native kernels and the pure-TS fallback.
import * as tf from '@tensorflow/tfjs-core';
import type { Bench, BenchResult } from '../../testing/bench_harness.ts';
import { timeMs } from '../../testing/bench_harness.ts';
import { nativeFn } from '../../backend/index.ts';
import { randn } from '../../testing/assert.ts';
import { type SelectiveScanVariant, selectiveScan } from './index.ts';

const Bz = 8, T = 256, D = 512, N = 16;
// FLOPs per (b,t,d,n) state element, counting exp as 1: forward 9 (ΔA, exp, Ā, Ā·h + ΔuB, C·h); backward 24
// (README.md "Cost"). The backward's recomputation of the states (another 8) is not counted as useful work.
const FLOP_FWD = 9, FLOP_BWD = 24;

function inputs(seed: number) {
  const t = (shape: number[], s: number, scale = 1, map?: (v: number) => number) => {
    const v = Float32Array.from(randn(shape.reduce((a, b) => a * b, 1), seed + s, scale));
    return tf.tensor(map ? v.map(map) : v, shape);
  };
  return {
    u: t([Bz, T, D], 1) as tf.Tensor3D,
    delta: t([Bz, T, D], 2, 0.5, (v) => v - 2) as tf.Tensor3D,
    A: t([D, N], 3, 0.5, (v) => -Math.exp(v)) as tf.Tensor2D,
    B: t([Bz, T, N], 4) as tf.Tensor3D,
    C: t([Bz, T, N], 5) as tf.Tensor3D,
    D: t([D], 6) as tf.Tensor1D,
    z: t([Bz, T, D], 7) as tf.Tensor3D,
    deltaBias: t([D], 8, 0.1) as tf.Tensor1D,
    dy: t([Bz, T, D], 9) as tf.Tensor3D,
  };
}

async function throughput(name: string, variant: SelectiveScanVariant, reps: number, batch = Bz): Promise<BenchResult> {
  const x = inputs(1);
  const sl = (t: tf.Tensor) => tf.slice(t, 0, [batch, ...t.shape.slice(1)]);
  const [u, delta, B, C, z, dy] = [x.u, x.delta, x.B, x.C, x.z, x.dy].map(sl) as tf.Tensor3D[];
  const loss = (uu: tf.Tensor, dd: tf.Tensor, AA: tf.Tensor, BB: tf.Tensor, CC: tf.Tensor) => {
    const { y } = selectiveScan(uu as tf.Tensor3D, dd as tf.Tensor3D, AA as tf.Tensor2D, BB as tf.Tensor3D, CC as tf.Tensor3D, {
      D: x.D, z, deltaBias: x.deltaBias, deltaSoftplus: true, allowNegEigval: true, variant,
    });
    return tf.sum(tf.mul(y, dy!));
  };
  const step = () => {
    const g = tf.grads(loss)([u!, delta!, x.A, B!, C!]);
    tf.dispose(g);
  };
  const t = await timeMs(step, reps, 1);
  const fwd = await timeMs(() => tf.tidy(() => { loss(u!, delta!, x.A, B!, C!).dataSync(); }), reps, 1);
  tf.dispose([...Object.values(x), u!, delta!, B!, C!, z!, dy!]);
  const tokens = batch * T;
  const elems = tokens * D * N;
  const flop = (FLOP_FWD + FLOP_BWD) * elems;
  return {
    name, value: Math.round(tokens / (t.median / 1e3)), unit: 'tokens/s', shape: `B${batch} T${T} D${D} N${N}`,
    variant, median_ms: +t.median.toFixed(2), forward_ms: +fwd.median.toFixed(2), flop_per_step: flop,
    gflops: +(flop / t.median / 1e6).toFixed(2), threads: 1,
  };
}

type Raw = (...args: unknown[]) => void;

/** The native kernels alone, on Float32Arrays (no TF.js bookkeeping): the kernel's own ceiling. */
async function rawNative(): Promise<BenchResult> {
  const fwd = nativeFn<Raw>('selectiveScanFwd'), bwd = nativeFn<Raw>('selectiveScanBwd');
  if (!fwd || !bwd) throw new Error('native addon without selectiveScanFwd/Bwd');
  const x = inputs(1);
  const v = (t: tf.Tensor) => t.dataSync() as Float32Array;
  const [u, delta, A, B, C, Dk, z, bias, dy] = [x.u, x.delta, x.A, x.B, x.C, x.D, x.z, x.deltaBias, x.dy].map(v);
  const btd = Bz * T * D, btn = Bz * T * N;
  const y = new Float32Array(btd), hT = new Float32Array(Bz * D * N);
  const g = [btd, btd, D * N, btn, btn, D, btd, D].map((n) => new Float32Array(n));
  const f = () => fwd(u, delta, A, B, C, Dk, z, bias, null, y, hT, Bz, T, D, N, true, true);
  const b = () => bwd(u, delta, A, B, C, Dk, z, bias, null, dy, null, ...g, null, Bz, T, D, N, true, true);
  const tf_ = await timeMs(f, 5, 1);
  const tb = await timeMs(b, 5, 1);
  tf.dispose(Object.values(x));
  const tokens = Bz * T, elems = tokens * D * N;
  const ms = tf_.median + tb.median;
  return {
    name: 'selective_scan.native_raw', value: Math.round(tokens / (ms / 1e3)), unit: 'tokens/s', shape: `B${Bz} T${T} D${D} N${N}`,
    forward_ms: +tf_.median.toFixed(2), backward_ms: +tb.median.toFixed(2),
    forward_gflops: +((FLOP_FWD * elems) / tf_.median / 1e6).toFixed(2),
    backward_gflops: +(((FLOP_BWD + FLOP_FWD) * elems) / tb.median / 1e6).toFixed(2), threads: 1,
  };
}

export const benches: Bench[] = [
  { name: 'selective_scan.fused', run: () => throughput('selective_scan.fused', 'auto', 5) },
  { name: 'selective_scan.native_raw', run: rawNative },
  // The pure-TS fallback is ~10x slower; one sequence keeps the bench short.
  { name: 'selective_scan.ts_fallback', run: () => throughput('selective_scan.ts_fallback', 'fused_ts', 3, 1) },
];
