// Plain-TS reference of the Mamba-1 selective scan (forward and hand-written backward): the test oracle.
// Loops follow the math in README.md line by line; backward keeps every state h_t (no recomputation tricks).
// Shape legend: Bz batch, T time, D channels (d_inner), N state size.
//   u, delta, z [Bz,T,D]; A [D,N]; B, C [Bz,T,N]; Dskip, deltaBias [D]; h0, hT [Bz,D,N].
import { eigMap, mambaDecay } from '../eig.ts';

export type FArray = Float32Array | Float64Array;

export interface ScanDims {
  batch: number;
  T: number;
  D: number;
  N: number;
}

export interface ScanFlags {
  /** Δ = softplus(delta + deltaBias) when true, else Δ = delta + deltaBias. */
  deltaSoftplus: boolean;
  /** Ā = 2·exp(ΔA) − 1 ∈ (−1,1) when true, else Ā = exp(ΔA) ∈ (0,1). */
  allowNegEigval: boolean;
}

/** Inputs as flat row-major arrays; optional ones are null or empty. */
export interface ScanArrays {
  u: ArrayLike<number>;
  delta: ArrayLike<number>;
  A: ArrayLike<number>;
  B: ArrayLike<number>;
  C: ArrayLike<number>;
  Dskip?: ArrayLike<number> | null;
  z?: ArrayLike<number> | null;
  deltaBias?: ArrayLike<number> | null;
  h0?: ArrayLike<number> | null;
}

export interface ScanGrads<T extends FArray = FArray> {
  du: T;
  ddelta: T;
  dA: T;
  dB: T;
  dC: T;
  dDskip: T | null;
  dz: T | null;
  ddeltaBias: T | null;
  dh0: T | null;
}

/** An optional array: null when absent or empty. */
export function opt<T extends ArrayLike<number>>(a: T | null | undefined): T | null {
  return a && a.length > 0 ? a : null;
}

/** softplus with PyTorch's threshold (s > 20 → s). */
export function softplus(s: number): number {
  return s > 20 ? s : Math.log1p(Math.exp(s));
}

/** d softplus / ds for the thresholded softplus above. */
export function softplusGrad(s: number): number {
  return s > 20 ? 1 : 1 / (1 + Math.exp(-s));
}

function alloc(n: number, float64: boolean): FArray {
  return float64 ? new Float64Array(n) : new Float32Array(n);
}

/** Δ[b,t,d] for every token (after bias and softplus), as float64. */
function deltas(x: ScanArrays, dims: ScanDims, flags: ScanFlags): Float64Array {
  const { batch, T, D } = dims;
  const bias = opt(x.deltaBias);
  const out = new Float64Array(batch * T * D);
  for (let i = 0; i < out.length; ++i) {
    const s = x.delta[i]! + (bias ? bias[i % D]! : 0);
    out[i] = flags.deltaSoftplus ? softplus(s) : s;
  }
  return out;
}

/**
 * Runs the scan and returns y [Bz,T,D], the final state [Bz,D,N] and every state hs [Bz,T+1,D,N]
 * (hs[:,0] = h0). Arithmetic is float64; with float64 = false the outputs and the carried state are
 * rounded to float32 after every step, like a float32 kernel.
 */
export function selectiveScanRefWithStates(x: ScanArrays, dims: ScanDims, flags: ScanFlags, float64 = false) {
  const { batch, T, D, N } = dims;
  const y = alloc(batch * T * D, float64), hT = alloc(batch * D * N, float64);
  const hs = alloc(batch * (T + 1) * D * N, float64);
  const dl = deltas(x, dims, flags);
  const Dskip = opt(x.Dskip), z = opt(x.z), h0 = opt(x.h0);
  const h = alloc(N, float64);
  for (let b = 0; b < batch; ++b) {
    for (let d = 0; d < D; ++d) {
      for (let n = 0; n < N; ++n) h[n] = h0 ? h0[(b * D + d) * N + n]! : 0;
      for (let n = 0; n < N; ++n) hs[((b * (T + 1)) * D + d) * N + n] = h[n]!;
      for (let t = 0; t < T; ++t) {
        const i = (b * T + t) * D + d;
        const dt = dl[i]!, ut = x.u[i]!;
        let acc = 0;
        for (let n = 0; n < N; ++n) {
          const a = mambaDecay(dt * x.A[d * N + n]!, flags.allowNegEigval);
          h[n] = a * h[n]! + dt * x.B[(b * T + t) * N + n]! * ut;
          acc += x.C[(b * T + t) * N + n]! * h[n]!;
          hs[((b * (T + 1) + t + 1) * D + d) * N + n] = h[n]!;
        }
        let out = acc + (Dskip ? Dskip[d]! * ut : 0);
        if (z) {
          const zz = z[i]!;
          out *= zz / (1 + Math.exp(-zz));
        }
        y[i] = out;
      }
      for (let n = 0; n < N; ++n) hT[(b * D + d) * N + n] = h[n]!;
    }
  }
  return { y, hT, hs };
}

/** Forward only: y [Bz,T,D] and the final state [Bz,D,N]. */
export function selectiveScanRef(x: ScanArrays, dims: ScanDims, flags: ScanFlags, float64 = false): { y: FArray; hT: FArray } {
  const { y, hT } = selectiveScanRefWithStates(x, dims, flags, float64);
  return { y, hT };
}

/**
 * Gradients of L = Σ dy·y + Σ dhT·hT with respect to every input (README.md, "Backward").
 * dhT may be null (no gradient flows into the final state). Accumulates in float64.
 */
export function selectiveScanBackwardRef(x: ScanArrays, dims: ScanDims, flags: ScanFlags, dy: ArrayLike<number>,
  dhT: ArrayLike<number> | null, float64 = false): ScanGrads {
  const { batch, T, D, N } = dims;
  const { hs } = selectiveScanRefWithStates(x, dims, flags, true);
  const Dskip = opt(x.Dskip), z = opt(x.z), bias = opt(x.deltaBias), h0 = opt(x.h0), gT = opt(dhT);
  const du = new Float64Array(batch * T * D), ddelta = new Float64Array(batch * T * D);
  const dA = new Float64Array(D * N), dB = new Float64Array(batch * T * N), dC = new Float64Array(batch * T * N);
  const dDskip = new Float64Array(D), dz = new Float64Array(batch * T * D), dbias = new Float64Array(D);
  const dh0 = new Float64Array(batch * D * N);
  const g = new Float64Array(N);
  const hAt = (b: number, t: number, d: number, n: number) => hs[((b * (T + 1) + t) * D + d) * N + n]!;
  const em = eigMap(flags.allowNegEigval);
  for (let b = 0; b < batch; ++b) {
    for (let d = 0; d < D; ++d) {
      for (let n = 0; n < N; ++n) g[n] = gT ? gT[(b * D + d) * N + n]! : 0;
      for (let t = T - 1; t >= 0; --t) {
        const i = (b * T + t) * D + d;
        const s = x.delta[i]! + (bias ? bias[d]! : 0);
        const dt = flags.deltaSoftplus ? softplus(s) : s;
        const ut = x.u[i]!;
        let gy = dy[i]!;
        if (z) {
          // out = y_ssm·silu(z): needs y_ssm = C_t·h_t + D u_t.
          let yssm = Dskip ? Dskip[d]! * ut : 0;
          for (let n = 0; n < N; ++n) yssm += x.C[(b * T + t) * N + n]! * hAt(b, t + 1, d, n);
          const zz = z[i]!, sg = 1 / (1 + Math.exp(-zz));
          dz[i] = gy * yssm * sg * (1 + zz * (1 - sg));
          gy *= zz * sg;
        }
        if (Dskip) dDskip[d] += gy * ut;
        let dut = Dskip ? gy * Dskip[d]! : 0;
        let ddt = 0;
        for (let n = 0; n < N; ++n) {
          const bn = x.B[(b * T + t) * N + n]!, cn = x.C[(b * T + t) * N + n]!;
          const An = x.A[d * N + n]!;
          g[n] += gy * cn; // g = dL/dh_t
          dC[(b * T + t) * N + n] += gy * hAt(b, t + 1, d, n);
          const e = Math.exp(dt * An);
          const a = em.scale * e + em.shift;
          const dadx = em.scale * e; // d a / d(ΔA)
          // input term b = Δ B u
          dB[(b * T + t) * N + n] += g[n]! * dt * ut;
          dut += g[n]! * dt * bn;
          ddt += g[n]! * bn * ut;
          // transition a(ΔA) multiplying h_{t-1}
          const ga = g[n]! * hAt(b, t, d, n);
          ddt += ga * dadx * An;
          dA[d * N + n] += ga * dadx * dt;
          g[n] = a * g[n]!; // dL/dh_{t-1} (its C term is added at step t-1)
        }
        du[i] = dut;
        const draw = flags.deltaSoftplus ? ddt * softplusGrad(s) : ddt;
        ddelta[i] = draw;
        dbias[d] += draw;
      }
      for (let n = 0; n < N; ++n) dh0[(b * D + d) * N + n] = g[n]!;
    }
  }
  const cast = (a: Float64Array): FArray => (float64 ? a : Float32Array.from(a));
  return {
    du: cast(du), ddelta: cast(ddelta), dA: cast(dA), dB: cast(dB), dC: cast(dC),
    dDskip: Dskip ? cast(dDskip) : null, dz: z ? cast(dz) : null, ddeltaBias: bias ? cast(dbias) : null,
    dh0: h0 ? cast(dh0) : null,
  };
}
