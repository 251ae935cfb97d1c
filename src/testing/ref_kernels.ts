// Plain TF.js-op versions of the three recurrent kernels (delta rule, selective scan, causal conv1d), written
// straight from docs/checkpoint-format.md §5.3, §5.5 and §8 as step-by-step loops. Test-only: an independent
// oracle for the layers' use of the real kernels (src/kernels/*), differentiable through TF.js autodiff.
// B batch, T time, H heads, K key dim, V value dim, D channels, N state size, C conv channels, W conv width.
import * as tf from '@tensorflow/tfjs-core';
import { mambaDecayTensor } from '../kernels/eig.ts';

export function deltaRuleRef(
  q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, beta: tf.Tensor3D,
  opts: { scale?: number; initialState?: tf.Tensor4D } = {},
): { o: tf.Tensor4D; finalState: tf.Tensor4D } {
  const [B, T, H, K] = q.shape;
  const V = v.shape[3];
  const scale = opts.scale ?? 1;
  let S = (opts.initialState ?? tf.zeros([B, H, K, V])) as tf.Tensor; // [B,H,K,V]
  const outs: tf.Tensor[] = [];
  for (let t = 0; t < T; ++t) {
    const at = (x: tf.Tensor4D) => tf.reshape(tf.slice(x, [0, t, 0, 0], [B, 1, H, x.shape[3]]), [B * H, 1, x.shape[3]]);
    const qt = at(q), kt = at(k), vt = at(v);
    const bt = tf.reshape(tf.slice(beta, [0, t, 0], [B, 1, H]), [B * H, 1, 1]);
    const S3 = tf.reshape(S, [B * H, K, V]);
    const u = tf.mul(bt, tf.sub(vt, tf.matMul(kt, S3))); // [BH,1,V]
    const S3n = tf.add(S3, tf.matMul(kt, u, true, false)); // k^T u: [BH,K,V]
    outs.push(tf.reshape(tf.mul(tf.matMul(qt, S3n), scale), [B, 1, H, V]));
    S = tf.reshape(S3n, [B, H, K, V]);
  }
  return { o: tf.concat(outs, 1) as tf.Tensor4D, finalState: S as tf.Tensor4D };
}

export function selectiveScanRef(
  u: tf.Tensor3D, delta: tf.Tensor3D, A: tf.Tensor2D, Bm: tf.Tensor3D, Cm: tf.Tensor3D,
  opts: { D?: tf.Tensor1D; z?: tf.Tensor3D; deltaBias?: tf.Tensor1D; deltaSoftplus?: boolean; allowNegEigval: boolean; initialState?: tf.Tensor3D },
): { y: tf.Tensor3D; finalState: tf.Tensor3D } {
  const [Bsz, T, D] = u.shape;
  const N = A.shape[1];
  let dt: tf.Tensor = delta;
  if (opts.deltaBias) dt = tf.add(dt, opts.deltaBias);
  if (opts.deltaSoftplus) dt = tf.softplus(dt);
  const a = mambaDecayTensor(tf.mul(tf.expandDims(dt, 3), A), opts.allowNegEigval); // [B,T,D,N]
  const bx = tf.mul(tf.expandDims(tf.mul(dt, u), 3), tf.expandDims(Bm, 2)); // [B,T,D,N]
  let h: tf.Tensor = opts.initialState ?? tf.zeros([Bsz, D, N]);
  const ys: tf.Tensor[] = [];
  for (let t = 0; t < T; ++t) {
    const at = (x: tf.Tensor) => tf.reshape(tf.slice(x, [0, t, 0, 0], [Bsz, 1, D, N]), [Bsz, D, N]);
    h = tf.add(tf.mul(at(a), h), at(bx));
    const ct = tf.reshape(tf.slice(Cm, [0, t, 0], [Bsz, 1, N]), [Bsz, 1, N]);
    ys.push(tf.reshape(tf.sum(tf.mul(h, ct), 2), [Bsz, 1, D]));
  }
  let y: tf.Tensor = tf.concat(ys, 1);
  if (opts.D) y = tf.add(y, tf.mul(u, opts.D));
  if (opts.z) y = tf.mul(y, tf.mul(opts.z, tf.sigmoid(opts.z)));
  return { y: y as tf.Tensor3D, finalState: h as tf.Tensor3D };
}

export function causalConv1dRef(
  x: tf.Tensor3D, weight: tf.Tensor2D,
  opts: { bias?: tf.Tensor1D; activation?: 'silu' | null; initialState?: tf.Tensor3D } = {},
): tf.Tensor3D {
  const [B, T, C] = x.shape;
  const W = weight.shape[1];
  const xp = tf.concat([opts.initialState ?? tf.zeros([B, W - 1, C]), x], 1);
  let y: tf.Tensor = tf.zeros([B, T, C]);
  for (let j = 0; j < W; ++j) {
    const wj = tf.reshape(tf.slice(weight, [0, j], [C, 1]), [C]);
    y = tf.add(y, tf.mul(tf.slice(xp, [0, j, 0], [B, T, C]), wj));
  }
  if (opts.bias) y = tf.add(y, opts.bias);
  if (opts.activation === 'silu') y = tf.mul(y, tf.sigmoid(y));
  return y as tf.Tensor3D;
}
