// Fused delta rule over Float32Arrays in plain TS: the rank-1 form of README.md §2 forward, and the backward
// recursion of §3 that rebuilds S_{t-1} = S_t − k_t δ_tᵀ from the saved u_t, δ_t (plus exact state checkpoints
// every C steps, so the rebuild never drifts over more than C steps). Same algorithm and saved tensors as the
// native kernel (src/native/delta_rule.cc); used when the addon is absent.
//
// B batch, T time, H heads, K key dim, V value dim. q,k [B,T,H,K]; v,o,u,delta [B,T,H,V]; beta [B,T,H];
// s0, sT, ds0, dsT [B,H,K,V]; ckpt [B,H,nCkpt,K,V] with checkpoint m (1-based) = S after step m·C.
import type { DeltaRuleDims } from './ref.ts';

/** Number of state checkpoints kept for T steps every C steps (none at T itself: that is the final state). */
export function numCheckpoints(T: number, every: number): number {
  return every > 0 && T > 0 ? Math.floor((T - 1) / every) : 0;
}

export interface FusedForwardIO {
  q: Float32Array; k: Float32Array; v: Float32Array; beta: Float32Array; s0: Float32Array | null;
  o: Float32Array; sT: Float32Array;
  /** What the backward needs; null when no backward will run. */
  u: Float32Array | null; delta: Float32Array | null; ckpt: Float32Array | null;
}

export interface FusedBackwardIO {
  q: Float32Array; k: Float32Array; v: Float32Array; beta: Float32Array; s0: Float32Array | null;
  sT: Float32Array; u: Float32Array; delta: Float32Array; ckpt: Float32Array;
  dO: Float32Array | null; dsT: Float32Array | null;
  dq: Float32Array; dk: Float32Array; dv: Float32Array; dbeta: Float32Array; ds0: Float32Array;
}

// Loops read typed arrays through locals (not `io.x[...]`) so V8 keeps them in registers.
export function deltaRuleFusedForwardTs(d: DeltaRuleDims, io: FusedForwardIO, scale: number, ckptEvery: number): void {
  const { B, T, H, K, V } = d;
  const KV = K * V;
  const nCk = numCheckpoints(T, ckptEvery);
  const { q, k, v, beta, s0, o, sT, u: uOut, delta, ckpt } = io;
  const u = new Float64Array(V), dl = new Float64Array(V), oacc = new Float64Array(V);
  for (let b = 0; b < B; ++b) {
    for (let h = 0; h < H; ++h) {
      const sOff = (b * H + h) * KV;
      const S = sT.subarray(sOff, sOff + KV); // the state lives in the output buffer
      if (s0) S.set(s0.subarray(sOff, sOff + KV));
      else S.fill(0);
      for (let t = 0; t < T; ++t) {
        const row = (b * T + t) * H + h;
        const ko = row * K, vo = row * V;
        const bt = beta[row]!;
        // u_t = S_{t-1}ᵀ k_t ; δ_t = β (v_t − u_t)
        u.fill(0);
        for (let i = 0; i < K; ++i) {
          const ki = k[ko + i]!;
          const r = i * V;
          for (let j = 0; j < V; ++j) u[j] += ki * S[r + j]!;
        }
        for (let j = 0; j < V; ++j) dl[j] = Math.fround(bt * (v[vo + j]! - Math.fround(u[j]!)));
        if (uOut && delta) {
          for (let j = 0; j < V; ++j) {
            uOut[vo + j] = u[j]!;
            delta[vo + j] = dl[j]!;
          }
        }
        // S_t = S_{t-1} + k_t δ_tᵀ ; o_t = scale S_tᵀ q_t
        oacc.fill(0);
        for (let i = 0; i < K; ++i) {
          const ki = k[ko + i]!, qi = q[ko + i]!;
          const r = i * V;
          for (let j = 0; j < V; ++j) {
            const x = (S[r + j] = S[r + j]! + ki * dl[j]!);
            oacc[j] += qi * x;
          }
        }
        for (let j = 0; j < V; ++j) o[vo + j] = scale * oacc[j]!;
        if (ckpt && ckptEvery > 0 && (t + 1) % ckptEvery === 0 && (t + 1) / ckptEvery <= nCk) {
          ckpt.set(S, ((b * H + h) * nCk + (t + 1) / ckptEvery - 1) * KV);
        }
      }
    }
  }
}

export function deltaRuleFusedBackwardTs(d: DeltaRuleDims, io: FusedBackwardIO, scale: number, ckptEvery: number): void {
  const { B, T, H, K, V } = d;
  const KV = K * V;
  const nCk = numCheckpoints(T, ckptEvery);
  const { q, k, v, beta, s0, sT, u, delta, ckpt, dsT, dq, dk, dv, dbeta, ds0 } = io;
  const dO = io.dO ?? new Float32Array(B * T * H * V);
  const S = new Float32Array(KV), G = new Float32Array(KV);
  const dDelta = new Float64Array(V), du = new Float64Array(V), dl = new Float64Array(V), doT = new Float64Array(V);
  for (let b = 0; b < B; ++b) {
    for (let h = 0; h < H; ++h) {
      const sOff = (b * H + h) * KV;
      S.set(sT.subarray(sOff, sOff + KV));
      if (dsT) G.set(dsT.subarray(sOff, sOff + KV));
      else G.fill(0);
      for (let t = T - 1; t >= 0; --t) {
        const row = (b * T + t) * H + h;
        const ko = row * K, vo = row * V;
        const bt = beta[row]!;
        const m = ckptEvery > 0 ? (t + 1) / ckptEvery : 0;
        if (Number.isInteger(m) && m >= 1 && m <= nCk) S.set(ckpt.subarray(((b * H + h) * nCk + m - 1) * KV, ((b * H + h) * nCk + m) * KV));
        for (let j = 0; j < V; ++j) {
          dl[j] = delta[vo + j]!;
          doT[j] = dO[vo + j]!;
        }
        // G += scale q_t do_tᵀ ; dq_t = scale S_t do_t ; dδ = Gᵀ k_t ; dk_t = G δ_t ; S_{t-1} = S_t − k_t δ_tᵀ
        dDelta.fill(0);
        for (let i = 0; i < K; ++i) {
          const sq = scale * q[ko + i]!, ki = k[ko + i]!;
          const r = i * V;
          let dqi = 0, dki = 0;
          for (let j = 0; j < V; ++j) {
            const dOj = doT[j]!, dj = dl[j]!;
            const sij = S[r + j]!;
            const gij = (G[r + j] = G[r + j]! + sq * dOj);
            dqi += sij * dOj;
            dDelta[j] += ki * gij;
            dki += gij * dj;
            S[r + j] = sij - ki * dj;
          }
          dq[ko + i] = scale * dqi;
          dk[ko + i] = dki;
        }
        if (t === 0) {
          // The exact S_0 instead of the rebuilt one.
          if (s0) S.set(s0.subarray(sOff, sOff + KV));
          else S.fill(0);
        }
        // dβ = dδ·(v − u) ; dv = β dδ ; du = −β dδ
        let db = 0;
        for (let j = 0; j < V; ++j) {
          const dd = Math.fround(dDelta[j]!);
          db += dd * (v[vo + j]! - u[vo + j]!);
          dv[vo + j] = bt * dd;
          du[j] = Math.fround(-bt * dd);
        }
        dbeta[row] = db;
        // dk_t += S_{t-1} du ; G += k_t duᵀ  (G is now ∂L/∂S_{t-1})
        for (let i = 0; i < K; ++i) {
          const ki = k[ko + i]!;
          const r = i * V;
          let acc = 0;
          for (let j = 0; j < V; ++j) {
            const duj = du[j]!;
            acc += S[r + j]! * duj;
            G[r + j] = G[r + j]! + ki * duj;
          }
          dk[ko + i] = dk[ko + i]! + acc;
        }
      }
      ds0.set(G, sOff);
    }
  }
}
