// Fused RMSNorm / L2 norm over the last axis, forward and backward in one pass each (TF.js composes square,
// mean, add, rsqrt and two multiplies forward and about twice that backward, each a full-size temporary).
// The loops run natively (src/native/norm.cc) when the addon has them, else as the TS loops below.
// Math: README.md. Rows R = product of the leading axes, D the normalised axis.
import * as tf from '@tensorflow/tfjs-core';
import { f32, fromF32, hasTypedArrayStorage, nativeFn } from '../../backend/index.ts';
import { normRef } from './ref.ts';

type F = Float32Array;
type NativeNormFwd = (u: F, w: F | null, eps: number, s: number, D: number, y: F, r: F) => void;
type NativeNormBwd = (u: F, w: F | null, r: F, dy: F, s: number, D: number, du: F, dw: Float64Array | null) => void;

/** Which loops the fused norm runs: 'auto' (native when the addon has them), or one explicitly (tests). */
export type NormLoops = 'auto' | 'native' | 'ts';

function loops(choice: NormLoops): { fwd: NativeNormFwd; bwd: NativeNormBwd } | null {
  if (choice === 'ts') return null;
  const fwd = nativeFn<NativeNormFwd>('normFwd'), bwd = nativeFn<NativeNormBwd>('normBwd');
  if (fwd && bwd) return { fwd, bwd };
  if (choice === 'native') throw new Error('norm: native loops requested but the addon lacks normFwd/normBwd');
  return null;
}

/** Forward over rows: y = u·r·w, r = 1/sqrt(s·Σu² + eps); keeps r [R] for the backward. */
export function normForward(u: Float32Array, w: Float32Array | null, eps: number, s: number, D: number,
  y: Float32Array, r: Float32Array): void {
  const R = r.length;
  for (let i = 0; i < R; ++i) {
    const o = i * D;
    let ss = 0;
    for (let j = 0; j < D; ++j) ss += u[o + j]! * u[o + j]!;
    const ri = Math.fround(1 / Math.sqrt(s * ss + eps));
    r[i] = ri;
    if (w) for (let j = 0; j < D; ++j) y[o + j] = Math.fround(u[o + j]! * ri) * w[j]!;
    else for (let j = 0; j < D; ++j) y[o + j] = u[o + j]! * ri;
  }
}

/** Backward: du = r·a − u·r³·s·Σ(a·u) with a = dy·w; dw[j] += Σ_rows dy·u·r (dw may be null). */
export function normBackward(u: Float32Array, w: Float32Array | null, r: Float32Array, dy: Float32Array, s: number,
  D: number, du: Float32Array, dw: Float64Array | null): void {
  const R = r.length;
  for (let i = 0; i < R; ++i) {
    const o = i * D, ri = r[i]!;
    let dot = 0;
    for (let j = 0; j < D; ++j) dot += dy[o + j]! * (w ? w[j]! : 1) * u[o + j]!;
    const c = ri * ri * ri * s * dot;
    for (let j = 0; j < D; ++j) {
      const a = dy[o + j]! * (w ? w[j]! : 1);
      du[o + j] = ri * a - u[o + j]! * c;
      if (dw) dw[j]! += dy[o + j]! * u[o + j]! * ri;
    }
  }
}

function fused<T extends tf.Tensor>(u: T, weight: tf.Tensor | null, eps: number, mean: boolean, choice: NormLoops): T {
  const D = u.shape[u.shape.length - 1]!;
  const R = D > 0 ? u.size / D : 0;
  const s = mean ? 1 / D : 1;
  const nat = loops(choice);
  const f = tf.customGrad(((...args: unknown[]) => {
    const x = args[0] as tf.Tensor, w = weight ? (args[1] as tf.Tensor) : null;
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const uv = f32(x), wv = w ? f32(w) : null;
    const y = new Float32Array(u.size), r = new Float32Array(R);
    if (nat) nat.fwd(uv, wv, eps, s, D, y, r);
    else normForward(uv, wv, eps, s, D, y, r);
    const rT = fromF32(r, [R]);
    save(w ? [x, w, rT] : [x, rT]);
    return {
      value: fromF32(y, u.shape),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const xs = saved[0]!, ws = w ? saved[1]! : null, rs = saved[w ? 2 : 1]!;
        const du = new Float32Array(u.size), dw = ws ? new Float64Array(D) : null;
        if (nat) nat.bwd(f32(xs), ws ? f32(ws) : null, f32(rs), f32(dy), s, D, du, dw);
        else normBackward(f32(xs), ws ? f32(ws) : null, f32(rs), f32(dy), s, D, du, dw);
        const duT = fromF32(du, u.shape);
        return ws ? [duT, fromF32(Float32Array.from(dw!), ws.shape)] : [duT];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  // The named scope is what tf.profile reports for the op (a customGrad has no kernel name of its own).
  return tf.tidy(mean ? 'RmsNorm' : 'L2Norm', () => (weight ? f(u, weight) : f(u)) as T);
}

function usable(u: tf.Tensor, weight: tf.Tensor | null): boolean {
  const D = u.shape[u.shape.length - 1];
  return hasTypedArrayStorage() && u.dtype === 'float32' && D !== undefined && D > 0 &&
    (!weight || (weight.dtype === 'float32' && weight.size === D));
}

/** RMSNorm: u / sqrt(mean(u²) + eps) · w over the last axis (docs/checkpoint-format.md §5.2). */
export function rmsNormFused<T extends tf.Tensor>(u: T, weight: tf.Tensor, eps: number, choice: NormLoops = 'auto'): T {
  return usable(u, weight) ? fused(u, weight, eps, true, choice) : normRef(u, weight, eps, true);
}

/** L2 norm: u / sqrt(Σu² + eps) over the last axis (DeltaNet's q/k). */
export function l2NormFused<T extends tf.Tensor>(u: T, eps: number, choice: NormLoops = 'auto'): T {
  return usable(u, null) ? fused(u, null, eps, false, choice) : normRef(u, null, eps, false);
}
