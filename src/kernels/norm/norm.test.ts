// Fused RMSNorm / L2 norm, native and TS loops, against the composed TF.js ops (values and gradients) and
// central finite differences of a float64 evaluation of the README's map; D 16 (whole vectors) and 37 (a tail).
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, nativeFn } from '../../backend/index.ts';
import { assertClose, randn } from '../../testing/assert.ts';
import { l2NormFused, type NormLoops, rmsNormFused } from './index.ts';
import { normRef } from './ref.ts';

before(async () => {
  await initBackend();
});

/** Σ_{i,j} c[i,j]·y[i,j] in float64, y = u·r·w (the README's forward). */
function weightedSum64(u: Float64Array, w: Float64Array | null, c: Float64Array, D: number, eps: number, s: number): number {
  let tot = 0;
  for (let o = 0; o < u.length; o += D) {
    let ss = 0;
    for (let j = 0; j < D; ++j) ss += u[o + j]! ** 2;
    const r = 1 / Math.sqrt(s * ss + eps);
    for (let j = 0; j < D; ++j) tot += c[o + j]! * u[o + j]! * r * (w ? w[j]! : 1);
  }
  return tot;
}

const hasNative = () => nativeFn('normFwd') !== null && nativeFn('normBwd') !== null;

for (const [mean, D, loops] of [true, false].flatMap((m) => [16, 37].flatMap((d) => (['native', 'ts'] as NormLoops[]).map((l) => [m, d, l] as const)))) {
  test(`${mean ? 'RMSNorm' : 'L2 norm'}, D ${D}, ${loops} loops: fused equals composed ops and finite differences`, { skip: loops === 'native' && !hasNative() && 'addon without normFwd' }, () => {
    const shape = [2, 3, 5, D], eps = mean ? 1e-5 : 1e-6, s = mean ? 1 / D : 1;
    const u64 = randn(2 * 3 * 5 * D, 7, 1), w64 = randn(D, 8, 0.5).map((x) => 1 + x), c64 = randn(u64.length, 9, 1);
    const u = tf.tensor(Float32Array.from(u64), shape), w = tf.tensor1d(Float32Array.from(w64)), c = tf.tensor(Float32Array.from(c64), shape);
    const fused = (a: tf.Tensor, b: tf.Tensor) => (mean ? rmsNormFused(a, b, eps, loops) : l2NormFused(a, eps, loops));
    const ref = (a: tf.Tensor, b: tf.Tensor) => normRef(a, mean ? b : null, eps, mean);
    assertClose('forward', fused(u, w).dataSync(), ref(u, w).dataSync(), 1e-6);
    const loss = (fn: typeof fused) => (a: tf.Tensor, b?: tf.Tensor) => tf.sum(tf.mul(fn(a, b ?? w), c));
    const [du, dw] = tf.grads(loss(fused))(mean ? [u, w] : [u]);
    const [rdu, rdw] = tf.grads(loss(ref))(mean ? [u, w] : [u]);
    assertClose('du vs composed', du!.dataSync(), rdu!.dataSync(), 1e-5);
    if (mean) assertClose('dw vs composed', dw!.dataSync(), rdw!.dataSync(), 1e-5);
    const h = 1e-6, wArg = mean ? Float64Array.from(w.dataSync()) : null;
    const uF = Float64Array.from(u.dataSync()), cF = Float64Array.from(c.dataSync());
    const fd = new Float64Array(uF.length);
    for (let i = 0; i < fd.length; ++i) {
      const p = Float64Array.from(uF), m = Float64Array.from(uF);
      p[i]! += h;
      m[i]! -= h;
      fd[i] = (weightedSum64(p, wArg, cF, D, eps, s) - weightedSum64(m, wArg, cF, D, eps, s)) / (2 * h);
    }
    assertClose('du vs finite differences', du!.dataSync(), fd, 1e-5);
    if (mean) {
      const fdw = new Float64Array(D);
      for (let j = 0; j < D; ++j) {
        const p = Float64Array.from(wArg!), m = Float64Array.from(wArg!);
        p[j]! += h;
        m[j]! -= h;
        fdw[j] = (weightedSum64(uF, p, cF, D, eps, s) - weightedSum64(uF, m, cF, D, eps, s)) / (2 * h);
      }
      assertClose('dw vs finite differences', dw!.dataSync(), fdw, 1e-5);
    }
    tf.dispose([u, w, c, du!, rdu!, ...(mean ? [dw!, rdw!] : [])]);
  });
}

test('native and TS loops agree at the models\' widths (RMSNorm D 384, L2 norm D 64)', { skip: !hasNative() && 'addon without normFwd' }, () => {
  for (const [mean, D] of [[true, 384], [false, 64]] as const) {
    const shape = [4, 33, D], n = 4 * 33 * D;
    const u = tf.tensor(Float32Array.from(randn(n, 1, 2)), shape), w = tf.tensor1d(Float32Array.from(randn(D, 2, 0.3).map((x) => 1 + x)));
    const c = tf.tensor(Float32Array.from(randn(n, 3, 1)), shape);
    const run = (loops: NormLoops) => {
      const fn = (a: tf.Tensor, b?: tf.Tensor) => tf.sum(tf.mul(mean ? rmsNormFused(a, b!, 1e-5, loops) : l2NormFused(a, 1e-6, loops), c));
      const y = (mean ? rmsNormFused(u, w, 1e-5, loops) : l2NormFused(u, 1e-6, loops)).dataSync();
      const g = tf.grads(fn)(mean ? [u, w] : [u]);
      return { y, du: g[0]!.dataSync(), dw: mean ? g[1]!.dataSync() : null };
    };
    const a = run('native'), b = run('ts');
    assertClose(`y D${D}`, a.y, b.y, 1e-6);
    assertClose(`du D${D}`, a.du, b.du, 1e-6);
    if (mean) assertClose(`dw D${D}`, a.dw!, b.dw!, 1e-6);
    tf.dispose([u, w, c]);
  }
});
