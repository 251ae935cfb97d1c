// Causal depthwise conv1d: the reference against TF.js's depthwiseConv2d, its backward against float64
// finite differences, every variant against the reference (forward and gradients through tf.grads), and
// initial-state chaining (two halves with the carried state equal one whole sequence).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, nativeFn } from '../../backend/index.ts';
import { assertClose, maxAbsDiff, randn } from '../../testing/assert.ts';
import { type CausalConv1dVariant, causalConv1d, causalConv1dState } from './index.ts';
import { type ConvArrays, type ConvDims, causalConv1dBackwardRef, causalConv1dRef } from './ref.ts';
import { tidyData } from '../../testing/tf.ts';

before(async () => {
  await initBackend();
});

const variants = (): CausalConv1dVariant[] =>
  nativeFn('causalConv1dFwd') ? ['reference', 'fused_ts', 'native'] : ['reference', 'fused_ts'];

function makeCase(d: ConvDims, seed: number, withBias = true, withState = true): ConvArrays {
  const r = (n: number, s: number, scale = 1) => Float32Array.from(randn(n, seed * 10 + s, scale));
  return {
    x: r(d.batch * d.T * d.C, 1),
    weight: r(d.C * d.W, 2, 0.5),
    bias: withBias ? r(d.C, 3) : null,
    h0: withState && d.W > 1 ? r(d.batch * (d.W - 1) * d.C, 4) : null,
  };
}

/** One variant through the TF.js op: y and the gradients of Σ dy·y w.r.t. every present input. */
function runOp(a: ConvArrays, d: ConvDims, silu: boolean, variant: CausalConv1dVariant, dy: Float32Array) {
  return tidyData(() => {
    const x = tf.tensor(a.x as Float32Array, [d.batch, d.T, d.C]) as tf.Tensor3D;
    const w = tf.tensor(a.weight as Float32Array, [d.C, d.W]) as tf.Tensor2D;
    const b = a.bias ? (tf.tensor(a.bias as Float32Array, [d.C]) as tf.Tensor1D) : null;
    const h = a.h0 ? (tf.tensor(a.h0 as Float32Array, [d.batch, d.W - 1, d.C]) as tf.Tensor3D) : null;
    const dyT = tf.tensor(dy, [d.batch, d.T, d.C]);
    const inputs = [x, w, ...(b ? [b] : []), ...(h ? [h] : [])];
    const call = (xs: tf.Tensor[]) => {
      let k = 2;
      const bias = b ? (xs[k++] as tf.Tensor1D) : undefined;
      const initialState = h ? (xs[k++] as tf.Tensor3D) : undefined;
      return causalConv1d(xs[0] as tf.Tensor3D, xs[1] as tf.Tensor2D, { bias, initialState, activation: silu ? 'silu' : null, variant });
    };
    const y = call(inputs).dataSync() as Float32Array;
    const g = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(call(xs), dyT)))(inputs).map((t) => t.dataSync() as Float32Array);
    let k = 2;
    return { y, dx: g[0]!, dweight: g[1]!, dbias: b ? g[k++]! : null, dh0: h ? g[k++]! : null };
  });
}

test('reference forward equals TF.js depthwiseConv2d over the left-padded input', () => {
  const d = { batch: 2, T: 11, C: 5, W: 4 };
  const a = makeCase(d, 1);
  for (const silu of [false, true]) {
    const want = tf.tidy(() => {
      const x = tf.tensor(a.x as Float32Array, [d.batch, d.T, d.C]);
      const h = tf.tensor(a.h0 as Float32Array, [d.batch, d.W - 1, d.C]);
      const full = tf.reshape(tf.concat([h, x], 1), [d.batch, 1, d.T + d.W - 1, d.C]) as tf.Tensor4D;
      // weight [C,W] → filter [1,W,C,1]
      const filt = tf.reshape(tf.transpose(tf.tensor(a.weight as Float32Array, [d.C, d.W])), [1, d.W, d.C, 1]) as tf.Tensor4D;
      let y = tf.add(tf.depthwiseConv2d(full, filt, 1, 'valid'), tf.tensor(a.bias as Float32Array, [d.C]));
      if (silu) y = tf.mul(y, tf.sigmoid(y));
      return y.dataSync();
    });
    assertClose(`silu=${silu}`, causalConv1dRef(a, d, silu, true), want, 1e-6);
  }
});

test('hand case: W = 4, weight [0,0,0,1] is the identity and [1,0,0,0] a shift by 3 steps', () => {
  const d = { batch: 1, T: 6, C: 1, W: 4 };
  const x = Float32Array.from([1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(causalConv1dRef({ x, weight: [0, 0, 0, 1] }, d, false)), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(causalConv1dRef({ x, weight: [1, 0, 0, 0] }, d, false)), [0, 0, 0, 1, 2, 3]);
  assert.deepEqual(Array.from(causalConv1dRef({ x, weight: [1, 0, 0, 0], h0: [7, 8, 9] }, d, false)), [7, 8, 9, 1, 2, 3]);
});

test('reference backward matches float64 central finite differences (x, weight, bias, initial state)', () => {
  const d = { batch: 2, T: 6, C: 3, W: 4 };
  for (const silu of [false, true]) {
    const a = makeCase(d, 2);
    const a64: Record<string, Float64Array> = {};
    for (const [k, v] of Object.entries(a)) a64[k] = Float64Array.from(v as Float32Array);
    const dy = randn(d.batch * d.T * d.C, 9);
    const loss = (aa: ConvArrays) => {
      const y = causalConv1dRef(aa, d, silu, true);
      let s = 0;
      for (let i = 0; i < y.length; ++i) s += y[i]! * dy[i]!;
      return s;
    };
    const g = causalConv1dBackwardRef(a64 as unknown as ConvArrays, d, silu, dy, true);
    for (const [inp, gname] of [['x', 'dx'], ['weight', 'dweight'], ['bias', 'dbias'], ['h0', 'dh0']] as const) {
      const base = a64[inp]!;
      const fd = new Float64Array(base.length);
      for (let i = 0; i < base.length; ++i) {
        const p = Float64Array.from(base), m = Float64Array.from(base);
        p[i]! += 1e-6;
        m[i]! -= 1e-6;
        fd[i] = (loss({ ...a64, [inp]: p } as unknown as ConvArrays) - loss({ ...a64, [inp]: m } as unknown as ConvArrays)) / 2e-6;
      }
      assertClose(`silu=${silu} ${gname}`, g[gname]!, fd, 1e-7);
    }
  }
});

for (const [shape, d] of [
  ['B2-T100-C48-W4', { batch: 2, T: 100, C: 48, W: 4 }],
  ['B1-T63-C33-W4', { batch: 1, T: 63, C: 33, W: 4 }],
  ['B3-T5-C17-W3', { batch: 3, T: 5, C: 17, W: 3 }],
  ['B2-T9-C20-W1', { batch: 2, T: 9, C: 20, W: 1 }],
] as const) {
  test(`every variant matches the float64 reference, forward and gradients, ${shape}`, () => {
    for (const [silu, withBias, withState] of [[true, true, true], [false, false, false], [true, false, true]] as const) {
      const a = makeCase(d, 3, withBias, withState);
      const dy = Float32Array.from(randn(d.batch * d.T * d.C, 7));
      const y = causalConv1dRef(a, d, silu, true);
      const g = causalConv1dBackwardRef(a, d, silu, dy, true);
      for (const v of variants()) {
        const tag = `${v} silu=${silu} bias=${withBias} state=${withState}`;
        const o = runOp(a, d, silu, v, dy);
        assertClose(`${tag} y`, o.y, y, 1e-6);
        assertClose(`${tag} dx`, o.dx, g.dx, 1e-6);
        assertClose(`${tag} dweight`, o.dweight, g.dweight, 1e-6);
        if (withBias) assertClose(`${tag} dbias`, o.dbias!, g.dbias!, 1e-6);
        if (a.h0) assertClose(`${tag} dInitialState`, o.dh0!, g.dh0!, 1e-6);
      }
    }
  });
}

test('initial-state chaining: conv(x1) ‖ conv(x2, state(x1)) equals conv(x1 ‖ x2), every variant', () => {
  const d = { batch: 2, T: 37, C: 24, W: 4 };
  const a = makeCase(d, 4, true, true);
  for (const v of variants()) {
    for (const split of [1, 2, 20]) {
      tf.tidy(() => {
        const x = tf.tensor(a.x as Float32Array, [d.batch, d.T, d.C]) as tf.Tensor3D;
        const w = tf.tensor(a.weight as Float32Array, [d.C, d.W]) as tf.Tensor2D;
        const bias = tf.tensor(a.bias as Float32Array, [d.C]) as tf.Tensor1D;
        const h0 = tf.tensor(a.h0 as Float32Array, [d.batch, d.W - 1, d.C]) as tf.Tensor3D;
        const opts = { bias, activation: 'silu' as const, variant: v };
        const whole = causalConv1d(x, w, { ...opts, initialState: h0 });
        const x1 = tf.slice(x, [0, 0, 0], [d.batch, split, d.C]) as tf.Tensor3D;
        const x2 = tf.slice(x, [0, split, 0], [d.batch, d.T - split, d.C]) as tf.Tensor3D;
        const y1 = causalConv1d(x1, w, { ...opts, initialState: h0 });
        const y2 = causalConv1d(x2, w, { ...opts, initialState: causalConv1dState(x1, d.W, h0) });
        const joined = tf.concat([y1, y2], 1);
        // Same arithmetic row by row, so the halves reproduce the whole exactly.
        assert.equal(maxAbsDiff(joined.dataSync(), whole.dataSync()), 0, `${v} split ${split}`);
      });
    }
  }
});

test('errors name the bad tensor', () => {
  const x = tf.zeros([1, 4, 3]) as tf.Tensor3D;
  assert.throws(() => causalConv1d(x, tf.zeros([2, 4]) as tf.Tensor2D), /weight must have shape \[3,4\]/);
  assert.throws(() => causalConv1d(x, tf.zeros([3, 4]) as tf.Tensor2D, { initialState: tf.zeros([1, 4, 3]) as tf.Tensor3D }), /initialState must have shape \[1,3,3\]/);
  tf.dispose(x);
});

test('no tensor leaks: forward outside any scope, and forward + tf.grads inside tidy', () => {
  const x = tf.tensor(Float32Array.from(randn(2 * 6 * 3, 1)), [2, 6, 3]) as tf.Tensor3D;
  const w = tf.tensor(Float32Array.from(randn(3 * 4, 2)), [3, 4]) as tf.Tensor2D;
  const before = tf.memory().numTensors;
  const y = causalConv1d(x, w, { activation: 'silu' });
  assert.equal(tf.memory().numTensors, before + 1);
  y.dispose();
  tf.tidy(() => {
    tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(causalConv1d(a as tf.Tensor3D, b as tf.Tensor2D, { activation: 'silu' })))([x, w]);
  });
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, w]);
});
