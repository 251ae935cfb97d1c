// Fused cross-entropy against its float64 reference, TF.js's composite and finite differences.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../backend/index.ts';
import { assertClose, randn, rng } from '../../testing/assert.ts';
import { softmaxCrossEntropy } from './index.ts';
import { softmaxXentRef } from './ref.ts';

before(async () => {
  await initBackend();
});

function inputs(rows: number, vocab: number, seed: number, ignoreEvery = 0) {
  const z = Float32Array.from(randn(rows * vocab, seed, 3));
  const r = rng(seed + 1);
  const y = Int32Array.from({ length: rows }, (_, i) => (ignoreEvery && i % ignoreEvery === 0 ? -100 : Math.floor(r() * vocab)));
  return { z, y };
}

for (const [rows, vocab] of [[1, 1], [7, 13], [64, 257], [33, 1000]] as const) {
  test(`forward and gradient match the float64 reference, N${rows}-V${vocab}`, () => {
    const { z, y } = inputs(rows, vocab, rows * 31 + vocab, 5);
    const loss64 = new Float64Array(rows), dz64 = new Float64Array(rows * vocab);
    softmaxXentRef(Float64Array.from(z), y, loss64, dz64, rows, vocab);
    const zT = tf.tensor2d(z, [rows, vocab]);
    const yT = tf.tensor1d(y, 'int32');
    const w = tf.tensor1d(Float32Array.from({ length: rows }, (_, i) => 0.5 + i / rows));
    const loss = softmaxCrossEntropy(zT, yT);
    assertClose('loss', loss.dataSync(), loss64, 1e-6);
    // Upstream gradient w (not all ones) checks the per-row scaling of the backward.
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(softmaxCrossEntropy(t as tf.Tensor2D, yT), w)))(zT);
    const expected = dz64.map((v, i) => v * (0.5 + Math.floor(i / vocab) / rows));
    assertClose('dlogits', g.dataSync(), expected, 1e-6);
    tf.dispose([zT, yT, w, loss, g]);
  });
}

test('agrees with the TF.js composite (logSoftmax) and with central finite differences', () => {
  const rows = 5, vocab = 11;
  const { z, y } = inputs(rows, vocab, 3);
  const zT = tf.tensor2d(z, [rows, vocab]);
  const yT = tf.tensor1d(y, 'int32');
  const fused = softmaxCrossEntropy(zT, yT).dataSync();
  const comp = tf.tidy(() => tf.neg(tf.sum(tf.mul(tf.logSoftmax(zT), tf.oneHot(yT, vocab)), 1)).dataSync());
  assertClose('loss vs composite', fused, comp, 1e-6);
  const z64 = Float64Array.from(z);
  const lossAt = (zz: Float64Array) => {
    const l = new Float64Array(rows);
    softmaxXentRef(zz, y, l, null, rows, vocab);
    return l.reduce((a, b) => a + b, 0);
  };
  const g = tf.grad((t: tf.Tensor) => tf.sum(softmaxCrossEntropy(t as tf.Tensor2D, yT)))(zT).dataSync();
  const h = 1e-5;
  const fd = new Float64Array(rows * vocab);
  for (let i = 0; i < fd.length; ++i) {
    const p = Float64Array.from(z64), m = Float64Array.from(z64);
    p[i]! += h;
    m[i]! -= h;
    fd[i] = (lossAt(p) - lossAt(m)) / (2 * h);
  }
  assertClose('dlogits vs finite differences', g, fd, 1e-5);
  tf.dispose([zT, yT]);
});

test('without a gradient tape (evaluation) the loss is bitwise the one computed under a tape', () => {
  const rows = 9, vocab = 300;
  const { z, y } = inputs(rows, vocab, 17, 4);
  const zT = tf.tensor2d(z, [rows, vocab]);
  const yT = tf.tensor1d(y, 'int32');
  const plain = tf.tidy(() => softmaxCrossEntropy(zT, yT).dataSync());
  let taped: Float32Array | null = null;
  const { value, grad } = tf.valueAndGrad((t: tf.Tensor) => {
    const l = softmaxCrossEntropy(t as tf.Tensor2D, yT);
    taped = Float32Array.from(l.dataSync());
    return tf.sum(l);
  })(zT);
  assert.deepEqual(Float32Array.from(plain), taped);
  const loss64 = new Float64Array(rows), dz64 = new Float64Array(rows * vocab);
  softmaxXentRef(Float64Array.from(z), y, loss64, dz64, rows, vocab);
  assertClose('untaped loss', plain, loss64, 1e-6);
  assertClose('dlogits after an untaped call', grad.dataSync(), dz64, 1e-6);
  tf.dispose([zT, yT, value, grad]);
});

test('ignored rows give zero loss and zero gradient; bad labels are rejected with the row', () => {
  const zT = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
  const yT = tf.tensor1d([-100, 2], 'int32');
  const loss = softmaxCrossEntropy(zT, yT).dataSync();
  assert.equal(loss[0], 0);
  assert.ok(Math.abs(loss[1]! - (Math.log(Math.exp(4) + Math.exp(5) + Math.exp(6)) - 6)) < 1e-6);
  const g = tf.grad((t: tf.Tensor) => tf.sum(softmaxCrossEntropy(t as tf.Tensor2D, yT)))(zT).dataSync();
  assert.deepEqual(Array.from(g.slice(0, 3)), [0, 0, 0]);
  assert.throws(() => softmaxCrossEntropy(zT, tf.tensor1d([0, 3], 'int32')), /label 3 at row 1/);
});
