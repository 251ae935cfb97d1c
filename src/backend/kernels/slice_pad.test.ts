// The linear-time Slice / PadV2 kernels against index-by-index references, and through TF.js (forward and
// gradient) on the active backend, with the gather gradient (UnsortedSegmentSum) alongside.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../index.ts';
import { randomArray } from '../../testing/assert.ts';
import { padTyped, sliceTyped } from './slice_pad.ts';

function refSlice(x: ArrayLike<number>, shape: number[], begin: number[], size: number[]): number[] {
  const out: number[] = [];
  const st = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const n = size.reduce((a, b) => a * b, 1);
  for (let i = 0; i < n; ++i) {
    let rem = i, off = 0;
    for (let d = size.length - 1; d >= 0; --d) {
      off += ((rem % size[d]!) + begin[d]!) * st[d]!;
      rem = Math.floor(rem / size[d]!);
    }
    out.push(x[off]!);
  }
  return out;
}

test('sliceTyped and padTyped match index-by-index references on many boxes', () => {
  const shape = [3, 4, 5, 6];
  const x = randomArray(360, 1);
  const cases: [number[], number[]][] = [[[0, 0, 0, 0], [3, 4, 5, 6]], [[1, 2, 0, 0], [2, 2, 5, 6]], [[0, 0, 0, 2], [3, 4, 5, 3]], [[2, 3, 4, 5], [1, 1, 1, 1]], [[0, 1, 1, 0], [3, 2, 3, 6]], [[0, 0, 0, 0], [0, 4, 5, 6]]];
  for (const [b, s] of cases) assert.deepEqual(Array.from(sliceTyped(x, shape, b, s)), refSlice(x, shape, b, s).map(Math.fround), `${b} ${s}`);
  const i32 = Int32Array.from({ length: 24 }, (_, i) => i);
  assert.deepEqual(Array.from(sliceTyped(i32, [2, 3, 4], [0, 1, 1], [2, 2, 2])), [5, 6, 9, 10, 17, 18, 21, 22]);
  // pad is the adjoint of slice: the sliced box of the padded tensor is x again, and the rest is the constant.
  const small = randomArray(24, 2);
  const p = padTyped(small, [2, 3, 4], [1, 0, 2], [0, 2, 1], 7);
  assert.deepEqual(Array.from(sliceTyped(p, [3, 5, 7], [1, 0, 2], [2, 3, 4])), Array.from(small));
  assert.equal(p.filter((v) => v === 7).length, p.length - 24);
});

test('registered: tf.slice, its gradient and the gather gradient give the reference values', async () => {
  await initBackend();
  const x = tf.tensor3d(Array.from({ length: 24 }, (_, i) => i), [2, 3, 4]);
  assert.deepEqual(Array.from(tf.slice(x, [0, 1, 1], [2, 2, 2]).dataSync()), [5, 6, 9, 10, 17, 18, 21, 22]);
  const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.slice(t, [0, 1, 1], [2, 2, 2]), tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]))))(x);
  const want = new Array(24).fill(0);
  [5, 6, 9, 10, 17, 18, 21, 22].forEach((i, k) => (want[i] = k + 1));
  assert.deepEqual(Array.from(g.dataSync()), want);
  const E = tf.variable(tf.tensor2d([[1, 2], [3, 4], [5, 6]]));
  const ids = tf.tensor2d([[2, 0], [2, 2]], [2, 2], 'int32');
  const w = tf.tensor3d([[[1, 10], [2, 20]], [[3, 30], [4, 40]]]);
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(tf.gather(E, ids), w)) as tf.Scalar, [E]);
  assert.deepEqual(Array.from(grads[E.name]!.dataSync()), [2, 20, 0, 0, 8, 80]);
  tf.dispose([x, g, E, ids, w, grads[E.name]!]);
});
