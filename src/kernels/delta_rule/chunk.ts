// Chunkwise-parallel delta rule (the WY/UT form of README.md §4) written with TF.js ops, for backends where a
// per-step loop is slow (GPU). Inside a chunk everything is batched matmuls; only the chain of chunk states is
// sequential (T/C steps). Its gradient is TF.js autodiff of these ops.
//
// B batch, T time, H heads, K key dim, V value dim, C chunk size, N = ⌈T/C⌉ chunks, Z = N·B·H.
import * as tf from '@tensorflow/tfjs-core';

export type ChunkSize = 16 | 32 | 64;

/** [C,C] 0/1 masks, cached per chunk size (they are kept, never disposed). */
const maskCache = new Map<string, tf.Tensor2D>();
function mask(C: number, kind: string, keep: (i: number, j: number) => boolean): tf.Tensor2D {
  const key = `${kind}:${C}`;
  let m = maskCache.get(key);
  if (!m || m.isDisposed) {
    const a = new Float32Array(C * C);
    for (let i = 0; i < C; ++i) for (let j = 0; j < C; ++j) a[i * C + j] = keep(i, j) ? 1 : 0;
    m = tf.keep(tf.tensor2d(a, [C, C]));
    maskCache.set(key, m);
  }
  return m;
}

/**
 * (I + L)⁻¹ for strictly lower-triangular L [Z,C,C] by block doubling (README.md §4): with P the inverse of the
 * block diagonal at block size s and E the lower-left blocks at level s, P ← P − P E P doubles the block size.
 * log2(C) steps of two matmuls; exact block inversion, so no power-series cancellation with large entries.
 */
function unitLowerInverse(Lm: tf.Tensor3D, C: number): tf.Tensor3D {
  let P = tf.broadcastTo(tf.eye(C), Lm.shape) as tf.Tensor3D;
  for (let s = 1; s < C; s *= 2) {
    const E = tf.mul(Lm, mask(C, `E${s}`, (i, j) => Math.floor(i / (2 * s)) === Math.floor(j / (2 * s)) && Math.floor(i / s) > Math.floor(j / s)));
    P = tf.sub(P, tf.matMul(tf.matMul(P, E as tf.Tensor3D), P));
  }
  return P;
}

/**
 * [B,T,H,X] → zero-padded in time → [N·B·H, C, X], chunk-major so each chunk's B·H blocks are one contiguous
 * slice (the cpu backend's strided slice and transpose are slow JS loops; this needs one transpose per input).
 */
function toChunks(x: tf.Tensor4D, C: number, N: number): tf.Tensor3D {
  const [B, T, H, X] = x.shape;
  let y: tf.Tensor = x;
  if (N * C > T) y = tf.pad(y, [[0, 0], [0, N * C - T], [0, 0], [0, 0]]);
  y = tf.transpose(tf.reshape(y, [B, N, C, H, X]), [1, 0, 3, 2, 4]);
  return tf.reshape(y, [N * B * H, C, X]);
}

export function deltaRuleChunk(
  q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, beta: tf.Tensor3D,
  opts: { scale: number; initialState?: tf.Tensor4D | null; chunkSize: ChunkSize },
): { o: tf.Tensor4D; finalState: tf.Tensor4D } {
  const [B, T, H, K] = q.shape;
  const V = v.shape[3];
  const C = opts.chunkSize;
  const N = Math.max(1, Math.ceil(T / C));
  return tf.tidy(() => {
    const Q = toChunks(tf.mul(q, opts.scale) as tf.Tensor4D, C, N); // [Z,C,K]
    const Kc = toChunks(k, C, N); // [Z,C,K]
    const Vc = toChunks(v, C, N); // [Z,C,V]
    const bc = toChunks(tf.expandDims(beta, 3) as tf.Tensor4D, C, N); // [Z,C,1]; padded steps have β = 0, k = 0
    const Kb = tf.mul(Kc, bc) as tf.Tensor3D;
    const Vb = tf.mul(Vc, bc) as tf.Tensor3D;
    // L = strict_lower(diag(β) K Kᵀ), A = (I + L)⁻¹, W = A diag(β) K, U = A diag(β) V
    const Lm = tf.mul(tf.matMul(Kb, Kc, false, true), mask(C, 'strict', (i, j) => i > j)) as tf.Tensor3D;
    const A = unitLowerInverse(Lm, C);
    const W = tf.matMul(A, Kb); // [Z,C,K]
    const U = tf.matMul(A, Vb); // [Z,C,V]
    // O = Q S + M (U − W S) with M = lower_incl(Q Kᵀ)  ⇒  O = (Q − M W) S + M U
    const M = tf.mul(tf.matMul(Q, Kc, false, true), mask(C, 'incl', (i, j) => i >= j)) as tf.Tensor3D;
    const Qt = tf.sub(Q, tf.matMul(M, W)) as tf.Tensor3D;
    const MU = tf.matMul(M, U);
    // The sequential chain over chunks, each a contiguous [B·H, C, X] slice: S_{n+1} = S_n + K_nᵀ (U_n − W_n S_n)
    const BH = B * H;
    const chunk = (x: tf.Tensor3D, n: number) => tf.slice(x, [n * BH, 0, 0], [BH, C, x.shape[2]]);
    let S: tf.Tensor3D = opts.initialState ? tf.reshape(opts.initialState, [BH, K, V]) : tf.zeros([BH, K, V]);
    const entering: tf.Tensor3D[] = [];
    for (let n = 0; n < N; ++n) {
      entering.push(S);
      const Vn = tf.sub(chunk(U as tf.Tensor3D, n), tf.matMul(chunk(W as tf.Tensor3D, n), S)) as tf.Tensor3D;
      S = tf.add(S, tf.matMul(chunk(Kc, n), Vn, true, false));
    }
    const Sin = (N === 1 ? entering[0]! : tf.concat(entering, 0)) as tf.Tensor3D; // [N·B·H, K, V]
    const O = tf.add(tf.matMul(Qt, Sin), MU); // [Z,C,V]
    let o: tf.Tensor = tf.reshape(tf.transpose(tf.reshape(O, [N, B, H, C, V]), [1, 0, 3, 2, 4]), [B, N * C, H, V]);
    if (N * C > T) o = tf.slice(o, [0, 0, 0, 0], [B, T, H, V]);
    return {
      o: o as tf.Tensor4D,
      finalState: tf.reshape(S, [B, H, K, V]) as tf.Tensor4D,
    };
  });
}
