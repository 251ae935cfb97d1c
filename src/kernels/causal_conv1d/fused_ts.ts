// Fused causal depthwise conv1d in plain TS over Float32Arrays: the fallback when the native addon is absent.
// Same algorithm as src/native/causal_conv1d.cc: rows of C channels, weight transposed to [W][C] so every
// inner loop runs over contiguous channels; the backward recomputes the pre-activation (nothing is saved).
// Shape legend: Bz batch, T time, C channels, W kernel width (see ref.ts).
import type { ConvArrays, ConvDims } from './ref.ts';

const opt = (a: ArrayLike<number> | null | undefined) => (a && a.length > 0 ? a : null);

function transposeWeight(weight: ArrayLike<number>, C: number, W: number): Float32Array {
  const wt = new Float32Array(W * C);
  for (let c = 0; c < C; ++c) for (let j = 0; j < W; ++j) wt[j * C + c] = weight[c * W + j]!;
  return wt;
}

/** pre[t,c] of one sequence b into `pre` [T,C]. */
function preacts(a: ConvArrays, dims: ConvDims, wt: Float32Array, b: number, pre: Float32Array): void {
  const { T, C, W } = dims;
  const bias = opt(a.bias), h0 = opt(a.h0), x = a.x;
  for (let t = 0; t < T; ++t) {
    const o = t * C;
    for (let c = 0; c < C; ++c) pre[o + c] = bias ? bias[c]! : 0;
    for (let j = 0; j < W; ++j) {
      const s = t - W + 1 + j;
      const src = s >= 0 ? x : h0;
      if (!src) continue;
      const so = s >= 0 ? (b * T + s) * C : (b * (W - 1) + s + W - 1) * C;
      const wo = j * C;
      for (let c = 0; c < C; ++c) pre[o + c] = pre[o + c]! + wt[wo + c]! * src[so + c]!;
    }
  }
}

/** Forward into y [Bz,T,C]. */
export function causalConv1dFusedTs(a: ConvArrays, dims: ConvDims, silu: boolean, y: Float32Array): void {
  const { batch, T, C, W } = dims;
  const wt = transposeWeight(a.weight, C, W);
  const pre = new Float32Array(T * C);
  for (let b = 0; b < batch; ++b) {
    preacts(a, dims, wt, b, pre);
    const o = b * T * C;
    if (silu) for (let i = 0; i < T * C; ++i) y[o + i] = pre[i]! / (1 + Math.exp(-pre[i]!));
    else y.set(pre, o);
  }
}

/** Backward: overwrites dx [Bz,T,C], dweight [C,W], and dbias [C] / dh0 [Bz,W−1,C] when given. */
export function causalConv1dBackwardFusedTs(a: ConvArrays, dims: ConvDims, silu: boolean, dy: Float32Array,
  g: { dx: Float32Array; dweight: Float32Array; dbias: Float32Array | null; dh0: Float32Array | null }): void {
  const { batch, T, C, W } = dims;
  const wt = transposeWeight(a.weight, C, W);
  const h0 = opt(a.h0), x = a.x;
  const dpre = new Float32Array(T * C);
  const dwt = new Float64Array(W * C), db = new Float64Array(C);
  for (let b = 0; b < batch; ++b) {
    const o = b * T * C;
    if (silu) {
      preacts(a, dims, wt, b, dpre);
      for (let i = 0; i < T * C; ++i) {
        const p = dpre[i]!, s = 1 / (1 + Math.exp(-p));
        dpre[i] = dy[o + i]! * s * (1 + p * (1 - s));
      }
    } else {
      dpre.set(dy.subarray(o, o + T * C));
    }
    for (let t = 0; t < T; ++t) {
      const r = t * C;
      for (let c = 0; c < C; ++c) db[c] += dpre[r + c]!;
      for (let j = 0; j < W; ++j) {
        const s = t - W + 1 + j;
        const src = s >= 0 ? x : h0;
        if (!src) continue;
        const so = s >= 0 ? (b * T + s) * C : (b * (W - 1) + s + W - 1) * C;
        for (let c = 0; c < C; ++c) dwt[j * C + c] += dpre[r + c]! * src[so + c]!;
      }
    }
    // dx̃[s] = Σ_j w[j] · dpre[s + W − 1 − j] over the outputs that exist.
    for (let s = -(W - 1); s < T; ++s) {
      const out = s >= 0 ? g.dx : g.dh0;
      if (!out) continue;
      const oo = s >= 0 ? (b * T + s) * C : (b * (W - 1) + s + W - 1) * C;
      out.fill(0, oo, oo + C);
      for (let j = 0; j < W; ++j) {
        const t = s + W - 1 - j;
        if (t < 0 || t >= T) continue;
        for (let c = 0; c < C; ++c) out[oo + c] = out[oo + c]! + wt[j * C + c]! * dpre[t * C + c]!;
      }
    }
  }
  for (let c = 0; c < C; ++c) for (let j = 0; j < W; ++j) g.dweight[c * W + j] = dwt[j * C + c]!;
  if (g.dbias) g.dbias.set(db);
}
