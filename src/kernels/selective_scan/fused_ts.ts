// Fused selective scan in plain TS over Float32Arrays: the fallback when the native addon is absent.
// Same algorithm as src/native/selective_scan.cc: forward keeps only the running state; backward recomputes
// one channel's states h_0..h_T from the saved inputs into a scratch buffer, then walks t = T..1.
// Shape legend: Bz batch, T time, D channels, N state size (see ref.ts).
import { eigMap } from '../eig.ts';
import { type ScanArrays, type ScanDims, type ScanFlags, opt, softplus, softplusGrad } from './ref.ts';

/** Output buffers of the backward; optional ones are null when the input was absent. */
export interface ScanGradBuffers {
  du: Float32Array;
  ddelta: Float32Array;
  dA: Float32Array;
  dB: Float32Array;
  dC: Float32Array;
  dDskip: Float32Array | null;
  dz: Float32Array | null;
  ddeltaBias: Float32Array | null;
  dh0: Float32Array | null;
}

/** Δ and dΔ/d(delta) for one channel's T tokens. */
function channelDeltas(x: ScanArrays, dims: ScanDims, flags: ScanFlags, b: number, d: number, dl: Float32Array, dg: Float32Array | null) {
  const { T, D } = dims;
  const bias = opt(x.deltaBias);
  const bd = bias ? bias[d]! : 0;
  for (let t = 0; t < T; ++t) {
    const s = x.delta[(b * T + t) * D + d]! + bd;
    dl[t] = flags.deltaSoftplus ? softplus(s) : s;
    if (dg) dg[t] = flags.deltaSoftplus ? softplusGrad(s) : 1;
  }
}

/** Forward into y [Bz,T,D] and hT [Bz,D,N]. */
export function selectiveScanFusedTs(x: ScanArrays, dims: ScanDims, flags: ScanFlags, y: Float32Array, hT: Float32Array): void {
  const { batch, T, D, N } = dims;
  const Dskip = opt(x.Dskip), z = opt(x.z), h0 = opt(x.h0);
  const { u, A, B, C } = x;
  const { scale, shift } = eigMap(flags.allowNegEigval); // Ā = scale·exp(ΔA) + shift
  const h = new Float32Array(N), dl = new Float32Array(T);
  for (let b = 0; b < batch; ++b) {
    for (let d = 0; d < D; ++d) {
      channelDeltas(x, dims, flags, b, d, dl, null);
      for (let n = 0; n < N; ++n) h[n] = h0 ? h0[(b * D + d) * N + n]! : 0;
      const dd = Dskip ? Dskip[d]! : 0;
      for (let t = 0; t < T; ++t) {
        const i = (b * T + t) * D + d, bt = (b * T + t) * N;
        const dt = dl[t]!, ut = u[i]!;
        let acc = 0;
        for (let n = 0; n < N; ++n) {
          const e = Math.exp(dt * A[d * N + n]!);
          h[n] = (scale * e + shift) * h[n]! + dt * B[bt + n]! * ut;
          acc += C[bt + n]! * h[n]!;
        }
        let out = acc + dd * ut;
        if (z) out *= z[i]! / (1 + Math.exp(-z[i]!));
        y[i] = out;
      }
      hT.set(h, (b * D + d) * N);
    }
  }
}

/** Backward: fills every buffer in `g` (overwrites) from dy [Bz,T,D] and dhT [Bz,D,N] (null = zero). */
export function selectiveScanBackwardFusedTs(x: ScanArrays, dims: ScanDims, flags: ScanFlags, dy: Float32Array,
  dhT: Float32Array | null, g: ScanGradBuffers): void {
  const { batch, T, D, N } = dims;
  const Dskip = opt(x.Dskip), z = opt(x.z), h0 = opt(x.h0), gT = opt(dhT);
  const { u, A, B, C } = x;
  const { scale, shift } = eigMap(flags.allowNegEigval); // Ā = scale·exp(ΔA) + shift
  const hs = new Float32Array((T + 1) * N), dl = new Float32Array(T), dg = new Float32Array(T);
  const gh = new Float64Array(N), dAacc = new Float64Array(D * N);
  const dBacc = new Float64Array(batch * T * N), dCacc = new Float64Array(batch * T * N);
  const dDacc = new Float64Array(D), dbAcc = new Float64Array(D);
  for (let b = 0; b < batch; ++b) {
    for (let d = 0; d < D; ++d) {
      channelDeltas(x, dims, flags, b, d, dl, dg);
      const dd = Dskip ? Dskip[d]! : 0;
      // Recompute this channel's states h_0..h_T.
      for (let n = 0; n < N; ++n) hs[n] = h0 ? h0[(b * D + d) * N + n]! : 0;
      for (let t = 0; t < T; ++t) {
        const bt = (b * T + t) * N, dt = dl[t]!, ut = u[(b * T + t) * D + d]!;
        for (let n = 0; n < N; ++n) {
          const e = Math.exp(dt * A[d * N + n]!);
          hs[(t + 1) * N + n] = (scale * e + shift) * hs[t * N + n]! + dt * B[bt + n]! * ut;
        }
      }
      for (let n = 0; n < N; ++n) gh[n] = gT ? gT[(b * D + d) * N + n]! : 0;
      for (let t = T - 1; t >= 0; --t) {
        const i = (b * T + t) * D + d, bt = (b * T + t) * N;
        const dt = dl[t]!, ut = u[i]!;
        let gy = dy[i]!;
        if (z) {
          let yssm = dd * ut;
          for (let n = 0; n < N; ++n) yssm += C[bt + n]! * hs[(t + 1) * N + n]!;
          const zz = z[i]!, sg = 1 / (1 + Math.exp(-zz));
          g.dz![i] = gy * yssm * sg * (1 + zz * (1 - sg));
          gy *= zz * sg;
        }
        dDacc[d] += gy * ut;
        let dut = gy * dd, ddt = 0;
        for (let n = 0; n < N; ++n) {
          const bn = B[bt + n]!, An = A[d * N + n]!;
          const gn = gh[n]! + gy * C[bt + n]!;
          dCacc[bt + n] += gy * hs[(t + 1) * N + n]!;
          const e = Math.exp(dt * An);
          const ce = scale * e; // d Ā / d(ΔA)
          dBacc[bt + n] += gn * dt * ut;
          dut += gn * dt * bn;
          const ga = gn * hs[t * N + n]!;
          ddt += gn * bn * ut + ga * ce * An;
          dAacc[d * N + n] += ga * ce * dt;
          gh[n] = (scale * e + shift) * gn;
        }
        g.du[i] = dut;
        const draw = ddt * dg[t]!;
        g.ddelta[i] = draw;
        dbAcc[d] += draw;
      }
      if (g.dh0) for (let n = 0; n < N; ++n) g.dh0[(b * D + d) * N + n] = gh[n]!;
    }
  }
  g.dA.set(dAacc);
  g.dB.set(dBacc);
  g.dC.set(dCacc);
  if (g.dDskip) g.dDskip.set(dDacc);
  if (g.ddeltaBias) g.ddeltaBias.set(dbAcc);
}
