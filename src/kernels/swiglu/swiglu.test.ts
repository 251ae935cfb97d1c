// Fused SwiGLU gate, native and TS loops, against the composed TF.js ops (values and gradients) and central
// finite differences of a float64 evaluation of the README's map.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, nativeFn } from '../../backend/index.ts';
import { assertClose, randn } from '../../testing/assert.ts';
import { swigluGate as swigluGateLoops, type SwigluLoops } from './index.ts';
import { swigluGateRef } from './ref.ts';

before(async () => {
  await initBackend();
});

const hasNative = () => nativeFn('swigluFwd') !== null && nativeFn('swigluBwd') !== null;

// 2·7·24 values: whole 16-lane vectors; 2·7·23 leaves a tail for the native loop's scalar end.
for (const [loops, I] of (['native', 'ts'] as SwigluLoops[]).flatMap((l) => [24, 23].map((i) => [l, i] as const))) {
  test(`fused gate (${loops} loops, width ${I}) equals composed ops and finite differences, including large |g|`, { skip: loops === 'native' && !hasNative() && 'addon without swigluFwd' }, () => {
    const swigluGate = (a: tf.Tensor, b: tf.Tensor) => swigluGateLoops(a, b, loops);
    const shape = [2, 7, I], n = 2 * 7 * I;
    const g64 = randn(n, 3, 3), u64 = randn(n, 4, 1), c64 = randn(n, 5, 1);
    g64[0] = 60; g64[1] = -60; // σ must not overflow either way
    const g = tf.tensor(Float32Array.from(g64), shape), u = tf.tensor(Float32Array.from(u64), shape), c = tf.tensor(Float32Array.from(c64), shape);
    assertClose('forward', swigluGate(g, u).dataSync(), swigluGateRef(g, u).dataSync(), 1e-6);
    const loss = (fn: typeof swigluGate) => (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(fn(a, b), c));
    const [dg, du] = tf.grads(loss(swigluGate))([g, u]);
    const [rdg, rdu] = tf.grads(loss(swigluGateRef))([g, u]);
    assertClose('dg vs composed', dg!.dataSync(), rdg!.dataSync(), 1e-6);
    assertClose('du vs composed', du!.dataSync(), rdu!.dataSync(), 1e-6);
    const gF = Float64Array.from(g.dataSync()), uF = Float64Array.from(u.dataSync()), cF = Float64Array.from(c.dataSync());
    const f64 = (x: number, i: number) => cF[i]! * (x / (1 + Math.exp(-x))) * uF[i]!;
    const h = 1e-6;
    const fdg = gF.map((x, i) => (f64(x + h, i) - f64(x - h, i)) / (2 * h));
    const fdu = gF.map((x, i) => cF[i]! * (x / (1 + Math.exp(-x))));
    assertClose('dg vs finite differences', dg!.dataSync(), fdg, 1e-5);
    assertClose('du vs analytic', du!.dataSync(), fdu, 1e-6);
    assert.throws(() => swigluGate(g, tf.zeros([2, 7, I + 1])), /differ in shape/);
    tf.dispose([g, u, c, dg!, du!, rdg!, rdu!]);
  });
}
