// Plain-TS reference of the causal depthwise conv1d (Mamba's short conv), forward and hand-written backward:
// the test oracle. Shape legend: Bz batch, T time, C channels, W kernel width.
//   x, y [Bz,T,C]; weight [C,W]; bias [C]; h0 [Bz,W−1,C] (the W−1 inputs before x[:,0]).
// y[b,t,c] = act(bias[c] + Σ_{j<W} weight[c,j] · x̃[b, t−W+1+j, c]), x̃ = h0 before t = 0, then x.

export type FArray = Float32Array | Float64Array;

export interface ConvDims {
  batch: number;
  T: number;
  C: number;
  W: number;
}

export interface ConvArrays {
  x: ArrayLike<number>;
  weight: ArrayLike<number>;
  bias?: ArrayLike<number> | null;
  h0?: ArrayLike<number> | null;
}

export interface ConvGrads<T extends FArray = FArray> {
  dx: T;
  dweight: T;
  dbias: T | null;
  dh0: T | null;
}

const opt = <T extends ArrayLike<number>>(a: T | null | undefined): T | null => (a && a.length > 0 ? a : null);

/** x̃[b,s,c] for s in [−(W−1), T). */
function xt(a: ConvArrays, dims: ConvDims, b: number, s: number, c: number): number {
  const { T, C, W } = dims;
  if (s >= 0) return a.x[(b * T + s) * C + c]!;
  const h0 = opt(a.h0);
  return h0 ? h0[(b * (W - 1) + s + W - 1) * C + c]! : 0;
}

function preact(a: ConvArrays, dims: ConvDims, b: number, t: number, c: number): number {
  const { C, W } = dims;
  const bias = opt(a.bias);
  let acc = bias ? bias[c]! : 0;
  for (let j = 0; j < W; ++j) acc += a.weight[c * W + j]! * xt(a, dims, b, t - W + 1 + j, c);
  return acc;
}

/** Forward: y [Bz,T,C]. Float64 arithmetic; outputs rounded to float32 unless float64. */
export function causalConv1dRef(a: ConvArrays, dims: ConvDims, silu: boolean, float64 = false): FArray {
  const { batch, T, C } = dims;
  const y = float64 ? new Float64Array(batch * T * C) : new Float32Array(batch * T * C);
  for (let b = 0; b < batch; ++b) {
    for (let t = 0; t < T; ++t) {
      for (let c = 0; c < C; ++c) {
        const p = preact(a, dims, b, t, c);
        y[(b * T + t) * C + c] = silu ? p / (1 + Math.exp(-p)) : p;
      }
    }
  }
  return y;
}

/** Gradients of L = Σ dy·y w.r.t. x, weight, bias and h0 (null when those are absent). */
export function causalConv1dBackwardRef(a: ConvArrays, dims: ConvDims, silu: boolean, dy: ArrayLike<number>, float64 = false): ConvGrads {
  const { batch, T, C, W } = dims;
  const dpre = new Float64Array(batch * T * C);
  for (let b = 0; b < batch; ++b) {
    for (let t = 0; t < T; ++t) {
      for (let c = 0; c < C; ++c) {
        const i = (b * T + t) * C + c;
        if (!silu) dpre[i] = dy[i]!;
        else {
          const p = preact(a, dims, b, t, c), s = 1 / (1 + Math.exp(-p));
          dpre[i] = dy[i]! * s * (1 + p * (1 - s));
        }
      }
    }
  }
  const dx = new Float64Array(batch * T * C), dh0 = new Float64Array(batch * (W - 1) * C);
  const dw = new Float64Array(C * W), db = new Float64Array(C);
  for (let b = 0; b < batch; ++b) {
    for (let t = 0; t < T; ++t) {
      for (let c = 0; c < C; ++c) {
        const g = dpre[(b * T + t) * C + c]!;
        db[c] += g;
        for (let j = 0; j < W; ++j) {
          const s = t - W + 1 + j;
          dw[c * W + j] += g * xt(a, dims, b, s, c);
          if (s >= 0) dx[(b * T + s) * C + c] += g * a.weight[c * W + j]!;
          else dh0[(b * (W - 1) + s + W - 1) * C + c] += g * a.weight[c * W + j]!;
        }
      }
    }
  }
  const cast = (v: Float64Array): FArray => (float64 ? v : Float32Array.from(v));
  return { dx: cast(dx), dweight: cast(dw), dbias: opt(a.bias) ? cast(db) : null, dh0: opt(a.h0) ? cast(dh0) : null };
}
