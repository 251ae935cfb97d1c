// Linear + cross-entropy (chunked, native) against its float64 reference, the composed ops it replaces
// (matMul + softmaxCrossEntropy, through TF.js autodiff) and central finite differences of the reference.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, nativeFn } from '../../backend/index.ts';
import { assertClose, randn, rng } from '../../testing/assert.ts';
import { softmaxCrossEntropy } from './index.ts';
import { defaultChunkRows, linearCrossEntropy, linearCrossEntropyRows } from './linear.ts';
import { linearXentRef } from './ref.ts';

before(async () => {
  await initBackend();
});

const hasNative = () => nativeFn('linearXent') !== null;

function inputs(N: number, D: number, V: number, seed: number, ignoreEvery = 0) {
  const x = Float32Array.from(randn(N * D, seed, 1.5));
  const w = Float32Array.from(randn(V * D, seed + 1, 0.7));
  const r = rng(seed + 2);
  const y = Int32Array.from({ length: N }, (_, i) => (ignoreEvery && i % ignoreEvery === 1 ? -100 : Math.floor(r() * V)));
  return { x, w, y };
}

/** Loss and gradients of 0.7 · op(x, w, y) (an upstream gradient ≠ 1 checks the backward's scaling). */
function lossAndGrads(op: (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Scalar, x: Float32Array, w: Float32Array, N: number, D: number, V: number) {
  const xT = tf.tensor2d(x, [N, D]), wT = tf.tensor2d(w, [V, D]);
  const { value, grads } = tf.tidy(() => tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => tf.mul(op(a as tf.Tensor2D, b as tf.Tensor2D), 0.7) as tf.Scalar)([xT, wT]));
  const out = { loss: value.dataSync()[0]!, gx: grads[0]!.dataSync() as Float32Array, gw: grads[1]!.dataSync() as Float32Array };
  tf.dispose([xT, wT, value, ...grads]);
  return out;
}

// Shapes: V not a multiple of 16 (the kernel's vector tail), chunks that do not divide N, one row, ignored rows.
for (const [N, D, V, chunkRows, ignoreEvery] of [[1, 3, 5, 1, 0], [13, 8, 37, 4, 0], [40, 16, 257, 16, 5], [33, 12, 1000, 7, 4], [64, 32, 96, 64, 0]] as const) {
  for (const reduction of ['sum', 'mean'] as const) {
    test(`native matches the float64 reference: N${N} D${D} V${V}, ${chunkRows}-row chunks, ${reduction}`, { skip: !hasNative() && 'addon without linearXent' }, () => {
      const { x, w, y } = inputs(N, D, V, N * 7 + V, ignoreEvery);
      const scale = reduction === 'mean' ? 1 / N : 1;
      const gx64 = new Float64Array(N * D), gw64 = new Float64Array(V * D);
      const want = scale * linearXentRef(Float64Array.from(x), Float64Array.from(w), y, N, D, V, { scale, gx: gx64, gw: gw64 });
      const yT = tf.tensor1d(y, 'int32');
      const got = lossAndGrads((a, b) => linearCrossEntropy(a, b, yT, { reduction, chunkRows, variant: 'native' }), x, w, N, D, V);
      assert.ok(Math.abs(got.loss - 0.7 * want) <= 2e-6 * Math.abs(0.7 * want), `loss ${got.loss} vs ${0.7 * want}`);
      assertClose('dx', got.gx, gx64.map((v) => 0.7 * v), 2e-5);
      assertClose('dW', got.gw, gw64.map((v) => 0.7 * v), 2e-5);
      // Without a tape the forward computes the loss alone, and the same loss.
      const plain = tf.tidy(() => linearCrossEntropy(tf.tensor2d(x, [N, D]), tf.tensor2d(w, [V, D]), yT, { reduction, chunkRows }).dataSync()[0]!);
      assert.ok(Math.abs(plain - want) <= 2e-6 * Math.abs(want), `untaped loss ${plain} vs ${want}`);
      yT.dispose();
    });
  }
}

test('native equals the composed ops it replaces (matMul + softmaxCrossEntropy + mean, TF.js autodiff)', { skip: !hasNative() && 'addon without linearXent' }, () => {
  const N = 48, D = 24, V = 300;
  const { x, w, y } = inputs(N, D, V, 11, 6);
  const yT = tf.tensor1d(y, 'int32');
  const composed = lossAndGrads((a, b) => tf.mean(softmaxCrossEntropy(tf.matMul(a, b, false, true), yT)) as tf.Scalar, x, w, N, D, V);
  const fused = lossAndGrads((a, b) => linearCrossEntropy(a, b, yT, { reduction: 'mean', chunkRows: 10 }), x, w, N, D, V);
  const viaComposite = lossAndGrads((a, b) => linearCrossEntropy(a, b, yT, { reduction: 'mean', variant: 'composite' }), x, w, N, D, V);
  for (const [name, got] of [['native', fused], ['composite variant', viaComposite]] as const) {
    assert.ok(Math.abs(got.loss - composed.loss) <= 1e-6 * composed.loss, `${name} loss ${got.loss} vs ${composed.loss}`);
    assertClose(`${name} dx`, got.gx, composed.gx, 1e-5);
    assertClose(`${name} dW`, got.gw, composed.gw, 1e-5);
  }
  yT.dispose();
});

test('gradient (native and reference variants) agrees with central finite differences of the float64 reference', () => {
  const N = 6, D = 5, V = 19;
  const { x, w, y } = inputs(N, D, V, 3, 4);
  const x64 = Float64Array.from(x), w64 = Float64Array.from(w);
  const at = (xx: Float64Array, ww: Float64Array) => linearXentRef(xx, ww, y, N, D, V) / N;
  const h = 1e-5;
  const fd = (arr: Float64Array, which: 'x' | 'w') => arr.map((_, i) => {
    const p = arr.slice(), m = arr.slice();
    p[i]! += h;
    m[i]! -= h;
    return (which === 'x' ? at(p, w64) - at(m, w64) : at(x64, p) - at(x64, m)) / (2 * h);
  });
  const fdx = fd(x64, 'x'), fdw = fd(w64, 'w');
  const yT = tf.tensor1d(y, 'int32');
  for (const variant of hasNative() ? (['native', 'reference'] as const) : (['reference'] as const)) {
    const got = lossAndGrads((a, b) => linearCrossEntropy(a, b, yT, { reduction: 'mean', chunkRows: 4, variant }), x, w, N, D, V);
    assertClose(`${variant} dx vs finite differences`, got.gx, fdx.map((v) => 0.7 * v), 1e-5);
    assertClose(`${variant} dW vs finite differences`, got.gw, fdw.map((v) => 0.7 * v), 1e-5);
  }
  yT.dispose();
});

test('chunk size changes nothing beyond float32 rounding; per-row losses match softmaxCrossEntropy', { skip: !hasNative() && 'addon without linearXent' }, () => {
  const N = 37, D = 16, V = 513;
  const { x, w, y } = inputs(N, D, V, 21, 9);
  const yT = tf.tensor1d(y, 'int32');
  const runs = [1, 5, N, 1000].map((chunkRows) => lossAndGrads((a, b) => linearCrossEntropy(a, b, yT, { chunkRows }), x, w, N, D, V));
  for (const r of runs.slice(1)) {
    assert.ok(Math.abs(r.loss - runs[0]!.loss) <= 1e-6 * runs[0]!.loss);
    assertClose('dx across chunk sizes', r.gx, runs[0]!.gx, 1e-6);
    assertClose('dW across chunk sizes', r.gw, runs[0]!.gw, 1e-6);
  }
  const rowLoss = new Float32Array(N);
  const fn = nativeFn<(...a: unknown[]) => number>('linearXent')!;
  const total = fn(x, w, y, N, D, V, -100, 8, 1, null, null, rowLoss);
  const rows = tf.tidy(() => softmaxCrossEntropy(tf.matMul(tf.tensor2d(x, [N, D]), tf.tensor2d(w, [V, D]), false, true), yT).dataSync() as Float32Array);
  assertClose('per-row loss', rowLoss, rows, 1e-6);
  assert.ok(Math.abs(total - rows.reduce((a, b) => a + b, 0)) <= 1e-5 * total);
  yT.dispose();
});

// Per-row losses (evaluation's per-token NLL): shapes as above, every variant against the float64 reference
// and against the composed ops (matMul + softmaxCrossEntropy) it stands in for.
for (const [N, D, V, chunkRows, ignoreEvery] of [[1, 3, 5, 1, 0], [13, 8, 37, 4, 0], [40, 16, 257, 16, 5], [33, 12, 1000, 7, 4]] as const) {
  test(`per-row losses (linearCrossEntropyRows): N${N} D${D} V${V}, ${chunkRows}-row chunks`, () => {
    const { x, w, y } = inputs(N, D, V, N * 5 + V, ignoreEvery);
    const want = new Float64Array(N);
    linearXentRef(Float64Array.from(x), Float64Array.from(w), y, N, D, V, { rowLoss: want });
    const xT = tf.tensor2d(x, [N, D]), wT = tf.tensor2d(w, [V, D]), yT = tf.tensor1d(y, 'int32');
    const composed = tf.tidy(() => softmaxCrossEntropy(tf.matMul(xT, wT, false, true), yT).dataSync() as Float32Array);
    for (const variant of hasNative() ? (['native', 'reference', 'composite'] as const) : (['reference', 'composite'] as const)) {
      const before = tf.memory().numTensors;
      const rowsT = linearCrossEntropyRows(xT, wT, yT, { chunkRows, variant });
      assert.deepEqual(rowsT.shape, [N]);
      const got = rowsT.dataSync() as Float32Array;
      rowsT.dispose();
      assert.equal(tf.memory().numTensors, before, `${variant}: no tensors left behind`);
      assertClose(`${variant} vs float64 reference`, got, want, 1e-6);
      assertClose(`${variant} vs matMul + softmaxCrossEntropy`, got, composed, 1e-6);
      for (let n = 0; n < N; ++n) {
        if (y[n] === -100) assert.equal(got[n], 0, `${variant}: ignored row ${n}`);
        else assert.ok(Math.abs(got[n]! - composed[n]!) <= 1e-5 * composed[n]!, `${variant} row ${n}: ${got[n]} vs ${composed[n]}`);
      }
      // The rows sum to the scalar op's 'sum' loss.
      const total = tf.tidy(() => linearCrossEntropy(xT, wT, yT, { chunkRows, variant }).dataSync()[0]!);
      assert.ok(Math.abs(got.reduce((a, b) => a + b, 0) - total) <= 1e-5 * Math.max(1, total), `${variant}: Σ rows vs sum loss ${total}`);
    }
    tf.dispose([xT, wT, yT]);
  });
}

test('linearCrossEntropyRows is forward only: under a gradient tape it says to use linearCrossEntropy', () => {
  const x = tf.tensor2d([[1, 2], [3, 4]]), w = tf.tensor2d([[1, 0], [0, 1], [1, 1]]), y = tf.tensor1d([0, 2], 'int32');
  assert.throws(() => tf.grad((a: tf.Tensor) => tf.sum(linearCrossEntropyRows(a as tf.Tensor2D, w, y)))(x), /forward only .*use linearCrossEntropy/);
  // A gradient function that threw leaves TF.js's activeTape set; evaluation afterwards must still run.
  const after = linearCrossEntropyRows(x, w, y);
  assert.ok(Math.abs(after.dataSync()[1]! - (Math.log(Math.exp(3) + Math.exp(4) + Math.exp(7)) - 7)) < 1e-5);
  after.dispose();
  assert.throws(() => linearCrossEntropyRows(x, w, tf.tensor1d([0, 3], 'int32'), { variant: 'reference' }), /label 3 at row 1/);
  assert.throws(() => linearCrossEntropyRows(x, w, tf.tensor1d([0], 'int32')), /linearCrossEntropyRows: 2 rows but labels are \[1\]/);
  tf.dispose([x, w, y]);
});

test('bad labels are rejected naming the row; shapes are checked; default chunk bounds the logits', () => {
  const x = tf.tensor2d([[1, 2], [3, 4]]), w = tf.tensor2d([[1, 0], [0, 1], [1, 1]]);
  for (const variant of hasNative() ? (['native', 'reference'] as const) : (['reference'] as const)) {
    assert.throws(() => linearCrossEntropy(x, w, tf.tensor1d([0, 3], 'int32'), { variant }), /label 3 at row 1/);
  }
  assert.throws(() => linearCrossEntropy(x, tf.tensor2d([[1, 0, 0]]), tf.tensor1d([0, 0], 'int32')), /x has 2 features but weight is \[1,3\]/);
  assert.throws(() => linearCrossEntropy(x, w, tf.tensor1d([0], 'int32')), /2 rows but labels are \[1\]/);
  assert.throws(() => linearCrossEntropy(x, w, tf.tensor1d([0, 0], 'int32'), { chunkRows: 0 }), /chunkRows must be a positive integer/);
  assert.equal(defaultChunkRows(8192), 512);
  assert.equal(defaultChunkRows(1 << 30), 16);
  tf.dispose([x, w]);
});
