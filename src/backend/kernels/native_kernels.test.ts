// Every native kernel of the lrnn backend against TF.js's own cpu kernel: transpose, batch and broadcast
// cases, odd shapes, and gradients through tf.grads (relative RMS ≤ 1e-5).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, native } from '../index.ts';
import { assertClose, randomArray } from '../../testing/assert.ts';

const TOL = 1e-5;
let seed = 1;

before(async () => {
  await initBackend();
  assert.equal(tf.getBackend(), 'lrnn', 'these tests need the native addon (npm run build:native)');
  assert.ok(native());
});

/** Runs `fn` on fresh tensors made from the same arrays on `backend`; returns the outputs' values. */
function runOn(backend: string, arrays: { v: Float32Array; shape: number[] }[], fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[]): Float32Array[] {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const xs = arrays.map((a) => tf.tensor(a.v, a.shape));
    const out = fn(...xs);
    return (Array.isArray(out) ? out : [out]).map((t) => Float32Array.from(t.dataSync()));
  });
}

function check(name: string, shapes: number[][], fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[], positive = false) {
  const arrays = shapes.map((shape) => ({ v: randomArray(tf.util.sizeFromShape(shape), seed++, positive ? 0.1 : -2, 2), shape }));
  const got = runOn('lrnn', arrays, fn);
  const want = runOn('cpu', arrays, fn);
  tf.setBackend('lrnn');
  assert.equal(got.length, want.length);
  got.forEach((g, i) => assertClose(`${name} output ${i}`, g, want[i]!, TOL));
}

/** Forward and the gradients of sum(f(xs) ⊙ w) with respect to every input. */
function checkWithGrads(name: string, shapes: number[][], f: (...xs: tf.Tensor[]) => tf.Tensor, positive = false) {
  check(name, shapes, (...xs) => {
    const y = f(...xs);
    const w = tf.tensor(randomArray(y.size, 999), y.shape);
    const grads = tf.grads((...ys: tf.Tensor[]) => tf.sum(tf.mul(f(...ys), w)))(xs);
    return [y, ...grads];
  }, positive);
}

const matmulCases: [string, number[], number[], boolean, boolean][] = [
  ['2d nn', [7, 5], [5, 3], false, false],
  ['2d nt', [7, 5], [3, 5], false, true],
  ['2d tn', [5, 7], [5, 3], true, false],
  ['2d tt', [5, 7], [3, 5], true, true],
  ['batched', [4, 6, 9], [4, 9, 2], false, false],
  ['batched tt', [4, 9, 6], [4, 2, 9], true, true],
  ['broadcast a batch', [1, 6, 9], [4, 9, 2], false, false],
  ['broadcast b batch', [3, 6, 9], [9, 2], false, false],
  ['rank 4 broadcast nt', [2, 3, 5, 4], [3, 6, 4], false, true],
  ['odd sizes', [33, 65], [65, 17], false, false],
  ['vector-like', [1, 64], [64, 1], false, false],
];
for (const [label, sa, sb, ta, tb] of matmulCases) {
  test(`BatchMatMul ${label} ${JSON.stringify(sa)}x${JSON.stringify(sb)} with gradients`, () => {
    checkWithGrads('matMul', [sa, sb], (a, b) => tf.matMul(a!, b!, ta, tb));
  });
}

test('BatchMatMul broadcasting batch dims both ways matches explicit broadcastTo (TF.js cpu mishandles it)', () => {
  // TF.js's cpu kernel maps batch i to i % batchA, which is wrong for [2,1] × [1,3]; broadcastTo first, then
  // an equal-batch matMul on cpu, is an independent reference, and its gradient flows through broadcastTo.
  const sa = [2, 1, 5, 4], sb = [1, 3, 4, 6];
  const arrays = [sa, sb].map((shape) => ({ v: randomArray(tf.util.sizeFromShape(shape), seed++), shape }));
  const withGrads = (explicit: boolean) => (...xs: tf.Tensor[]) => {
    const f = (a: tf.Tensor, b: tf.Tensor) => explicit
      ? tf.matMul(tf.broadcastTo(a, [2, 3, 5, 4]), tf.broadcastTo(b, [2, 3, 4, 6]))
      : tf.matMul(a, b);
    const y = f(xs[0]!, xs[1]!);
    const w = tf.tensor(randomArray(y.size, 7), y.shape);
    return [y, ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), w)))(xs)];
  };
  const got = runOn('lrnn', arrays, withGrads(false));
  const want = runOn('cpu', arrays, withGrads(true));
  tf.setBackend('lrnn');
  got.forEach((g, i) => assertClose(`output ${i}`, g, want[i]!, TOL));
});

test('BatchMatMul with a zero-sized dimension gives zeros of the right shape', () => {
  tf.setBackend('lrnn');
  const y = tf.matMul(tf.zeros([3, 0]), tf.zeros([0, 4]));
  assert.deepEqual(y.shape, [3, 4]);
  assert.deepEqual(Array.from(y.dataSync()), new Array(12).fill(0));
});

const binaries: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
  ['add', tf.add], ['sub', tf.sub], ['mul', tf.mul], ['div', tf.div], ['maximum', tf.maximum],
  ['minimum', tf.minimum], ['squaredDifference', tf.squaredDifference],
];
const bcast: [number[], number[]][] = [
  [[5, 7], [5, 7]], [[5, 7], [7]], [[5, 7], [5, 1]], [[5, 1], [1, 7]], [[3, 4, 5], [4, 1]], [[2, 3, 4, 5], [3, 1, 5]],
  [[6], []], [[], [6]], [[2, 1, 3, 1], [1, 4, 1, 5]], [[1, 1, 9], [2, 3, 9]],
];
for (const [name, op] of binaries) {
  test(`${name}: every broadcast pattern, with gradients`, () => {
    for (const [sa, sb] of bcast) checkWithGrads(`${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`, [sa, sb], (a, b) => op(a!, b!), name === 'div');
  });
}

const unaries: [string, (x: tf.Tensor) => tf.Tensor, boolean][] = [
  ['relu', tf.relu, false], ['exp', tf.exp, false], ['log', tf.log, true], ['sigmoid', tf.sigmoid, false],
  ['tanh', tf.tanh, false], ['neg', tf.neg, false], ['sqrt', tf.sqrt, true], ['rsqrt', tf.rsqrt, true],
  ['square', tf.square, false], ['abs', tf.abs, false], ['softplus', tf.softplus, false],
  ['reciprocal', tf.reciprocal, true], ['log1p', tf.log1p, true], ['step', (x) => tf.step(x, 0.25), false],
];
for (const [name, op, positive] of unaries) {
  test(`${name}: forward and gradient on an odd shape`, () => {
    checkWithGrads(name, [[3, 17, 5]], (x) => op(x!), positive);
  });
}

test('softplus stays finite and exact at large |x|', () => {
  tf.setBackend('lrnn');
  const y = tf.softplus(tf.tensor1d([-100, -30, 0, 30, 100])).dataSync();
  assertClose('softplus', y, [Math.exp(-100), Math.exp(-30), Math.log(2), 30, 100], 1e-6);
});

const reductions: [string, (x: tf.Tensor, axis: number | number[], keep: boolean) => tf.Tensor][] = [
  ['sum', tf.sum], ['mean', tf.mean], ['max', tf.max], ['min', tf.min],
];
for (const [name, op] of reductions) {
  test(`${name}: contiguous and non-contiguous axes, keepDims, with gradients`, () => {
    for (const [shape, axis] of [[[6, 7], 0], [[6, 7], 1], [[6, 7], -1], [[2, 3, 4, 5], [1, 2]], [[2, 3, 4, 5], [0, 3]], [[4, 5], [0, 1]], [[9], 0]] as [number[], number | number[]][]) {
      for (const keep of [false, true]) {
        checkWithGrads(`${name} ${JSON.stringify(shape)} axis ${JSON.stringify(axis)} keep ${keep}`, [shape], (x) => op(x!, axis, keep));
      }
    }
  });
}

test('sum accumulates in double: 1e6 ones plus a large offset are exact', () => {
  tf.setBackend('lrnn');
  const x = tf.add(tf.ones([1_000_000]), tf.scalar(0));
  assert.equal(tf.sum(x).dataSync()[0], 1_000_000);
});

test('addN of four tensors, with gradients', () => {
  checkWithGrads('addN', [[4, 6], [4, 6], [4, 6], [4, 6]], (a, b, c, d) => tf.addN([a!, b!, c!, d!]));
});

test('an MLP training step has the same loss and gradients on lrnn and cpu', () => {
  check('mlp', [[16, 12], [12, 20], [20], [20, 3]], (x, w1, b1, w2) => {
    const vars = [tf.variable(w1!), tf.variable(b1!), tf.variable(w2!)] as const;
    const f = () => tf.mean(tf.square(tf.matMul(tf.relu(tf.add(tf.matMul(x!, vars[0]), vars[1])), vars[2]))) as tf.Scalar;
    const { value, grads } = tf.variableGrads(f, [...vars]);
    const out = [value, ...vars.map((v) => tf.clone(grads[v.name]!))];
    vars.forEach((v) => v.dispose());
    return out;
  });
});

test('UnsortedSegmentSum (the embedding gradient): gather gradients with repeated, unused and rank-2 ids', () => {
  // Reference: d table[s, :] = Σ over positions p with ids[p] = s of w[p, :], written as plain loops.
  tf.setBackend('lrnn');
  const rows = 11, width = 6;
  for (const ids of [[3, 0, 3, 10, 3], [1, 2, 2, 9]]) {
    const idShape = ids.length === 4 ? [2, 2] : [ids.length];
    const table = tf.tensor(randomArray(rows * width, seed++), [rows, width]);
    const wv = randomArray(ids.length * width, seed++);
    const w = tf.tensor(wv, [...idShape, width]);
    const idx = tf.tensor(ids, idShape, 'int32');
    const g = tf.grad((u: tf.Tensor) => tf.sum(tf.mul(tf.gather(u, idx), w)))(table).dataSync();
    const want = new Float64Array(rows * width);
    ids.forEach((s, p) => { for (let j = 0; j < width; ++j) want[s * width + j] += wv[p * width + j]!; });
    assertClose(`gather grad ${JSON.stringify(ids)}`, g, want, 1e-7);
    tf.dispose([table, w, idx]);
  }
});

test('GatherV2 (the embedding lookup): rows by rank-1 and rank-2 ids, a rank-3 table, int32, other axes, bad ids', () => {
  tf.setBackend('lrnn');
  const table = randomArray(7 * 3 * 2, seed++);
  const x = tf.tensor(table, [7, 3, 2]);
  const cases: [number[], number[]][] = [[[6, 0, 6, 2], [4]], [[1, 5, 5, 0, 3, 3], [2, 3]]];
  for (const [ids, shape] of cases) {
    const got = tf.gather(x, tf.tensor(ids, shape, 'int32'));
    assert.deepEqual(got.shape, [...shape, 3, 2]);
    const want = new Float64Array(ids.length * 6);
    ids.forEach((s, p) => { for (let j = 0; j < 6; ++j) want[p * 6 + j] = table[s * 6 + j]!; });
    assertClose(`gather ${JSON.stringify(ids)}`, got.dataSync(), want, 0);
  }
  assert.deepEqual([...tf.gather(tf.tensor1d([10, 20, 30], 'int32'), tf.tensor1d([2, 0], 'int32')).dataSync()], [30, 10]);
  // axis 1 takes TF.js's own kernel: same answer as transposing around an axis-0 gather.
  const a1 = tf.gather(x, tf.tensor1d([2, 0], 'int32'), 1);
  const viaT = tf.transpose(tf.gather(tf.transpose(x, [1, 0, 2]), tf.tensor1d([2, 0], 'int32')), [1, 0, 2]);
  assertClose('gather axis 1', a1.dataSync(), viaT.dataSync(), 0);
  assert.throws(() => tf.gather(x, tf.tensor1d([7], 'int32')).dataSync(), /index 7 at position 0 is outside \[0, 6\]/);
  x.dispose();
});

test('transpose: every permutation of a rank-4 tensor, identity included, with gradients', () => {
  const perms = [[0, 1, 2, 3], [3, 2, 1, 0], [0, 2, 1, 3], [1, 0, 3, 2], [2, 3, 0, 1], [0, 1, 3, 2]];
  for (const perm of perms) checkWithGrads(`transpose ${perm}`, [[2, 3, 4, 5]], (x) => tf.transpose(x!, perm));
  checkWithGrads('transpose 2d', [[33, 17]], (x) => tf.transpose(x!));
});
