// Fused SwiGLU gate against the composed TF.js ops (values and gradients) and central finite differences of
// a float64 evaluation of the README's map.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../backend/index.ts';
import { assertClose, randn } from '../../testing/assert.ts';
import { swigluGate } from './index.ts';
import { swigluGateRef } from './ref.ts';

before(async () => {
  await initBackend();
});

test('fused gate equals composed ops and finite differences, including large |g|', () => {
  const shape = [2, 7, 24], n = 2 * 7 * 24;
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
  assert.throws(() => swigluGate(g, tf.zeros([2, 7, 23])), /differ in shape/);
  tf.dispose([g, u, c, dg!, du!, rdg!, rdu!]);
});
