// Layers against the TF.js-op oracle (ref_kernels.ts, loops written from the spec): RMSNorm / L2 norm
// formulas, the short conv and its decoding cache, and the DeltaNet and Mamba mixers for both eigenvalue
// ranges — whole sequence vs the oracle, and split in two with the carried state vs whole.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend/index.ts';
import { assertClose, randn } from '../testing/assert.ts';
import { type DeltaNetLayerOptions, deltaNetMixer } from './delta_net.ts';
import { linear } from './linear.ts';
import { type MambaLayerOptions, mambaMixer } from './mamba.ts';
import type { Params } from './params.ts';
import { causalConv1dRef, deltaRuleRef, selectiveScanRef } from '../testing/ref_kernels.ts';
import { l2Norm, rmsNorm } from './rms_norm.ts';
import { shortConv } from './short_conv.ts';

before(async () => { await initBackend(); });

let seed = 100;
const rnd = (shape: number[], scale = 1) => tf.tensor(Float32Array.from(randn(shape.reduce((a, b) => a * b, 1), ++seed, scale)), shape, 'float32');
const silu = (x: tf.Tensor) => tf.mul(x, tf.sigmoid(x));

test('rmsNorm = u / sqrt(mean(u²) + eps) · w; l2Norm = u / sqrt(Σu² + 1e-6)', () => {
  const u = [3, -4, 0, 1], w = [1, 2, 0.5, -1], eps = 1e-5;
  const ms = u.reduce((a, b) => a + b * b, 0) / 4;
  const want = u.map((x, i) => (x / Math.sqrt(ms + eps)) * w[i]!);
  assertClose('rmsNorm', rmsNorm(tf.tensor2d([u]), tf.tensor1d(w), eps).dataSync(), want, 1e-6);
  const ss = u.reduce((a, b) => a + b * b, 0);
  assertClose('l2Norm', l2Norm(tf.tensor2d([u])).dataSync(), u.map((x) => x / Math.sqrt(ss + 1e-6)), 1e-6);
});

test('shortConv: w[c,0,W-1] multiplies the current token; the cache continues the convolution', () => {
  // One channel, kernel [1, 10, 100, 1000]: y[t] = x[t-3] + 10 x[t-2] + 100 x[t-1] + 1000 x[t].
  const x = tf.tensor3d([[[1], [2], [3], [4], [5]]]);
  const w = tf.tensor3d([[[1, 10, 100, 1000]]]);
  assert.deepEqual([...shortConv(x, w).y.dataSync()], [1000, 2100, 3210, 4321, 5432]);
  const xs = rnd([2, 11, 6]) as tf.Tensor3D, ws = rnd([6, 1, 4]), b = rnd([6]) as tf.Tensor1D;
  const whole = shortConv(xs, ws, { bias: b, silu: true }).y;
  const a = shortConv(tf.slice(xs, [0, 0, 0], [2, 2, 6]) as tf.Tensor3D, ws, { bias: b, silu: true, wantState: true });
  assertClose('cache = last W-1 inputs', a.state!.dataSync(), tf.concat([tf.zeros([2, 1, 6]), tf.slice(xs, [0, 0, 0], [2, 2, 6])], 1).dataSync(), 0);
  const c = shortConv(tf.slice(xs, [0, 2, 0], [2, 9, 6]) as tf.Tensor3D, ws, { bias: b, silu: true, state: a.state! });
  assertClose('split conv', tf.concat([a.y, c.y], 1).dataSync(), whole.dataSync(), 1e-6);
  assertClose('vs oracle', whole.dataSync(), causalConv1dRef(xs as tf.Tensor3D, tf.reshape(ws, [6, 4]) as tf.Tensor2D, { bias: b, activation: 'silu' }).dataSync(), 1e-6);
});

function deltaParams(D: number, H: number, dk: number, W: number): Params {
  const p: Params = new Map();
  const add = (n: string, shape: number[], s: number) => p.set(n, tf.variable(rnd(shape, s)));
  add('q_proj.weight', [H * dk, D], 0.3); add('k_proj.weight', [H * dk, D], 0.3); add('v_proj.weight', [H * dk, D], 0.3);
  add('b_proj.weight', [H, D], 0.5);
  add('q_conv1d.weight', [H * dk, 1, W], 0.5); add('k_conv1d.weight', [H * dk, 1, W], 0.5); add('v_conv1d.weight', [H * dk, 1, W], 0.5);
  p.set('o_norm.weight', tf.variable(tf.add(1, rnd([dk], 0.1))));
  add('o_proj.weight', [D, H * dk], 0.3);
  return p;
}

/** DeltaNet mixer written directly from §5.5 over the oracle kernels. */
function deltaOracle(p: Params, o: DeltaNetLayerOptions, u: tf.Tensor3D): tf.Tensor {
  const [B, T] = u.shape;
  const H = o.numHeads, K = o.keyDim / H;
  const conv = (x: tf.Tensor, n: string) => causalConv1dRef(x as tf.Tensor3D, tf.reshape(p.get(n)!, [x.shape[2]!, o.convSize]) as tf.Tensor2D, { activation: 'silu' });
  const heads = (x: tf.Tensor) => tf.reshape(x, [B, T, H, K]);
  const l2 = (x: tf.Tensor) => tf.div(x, tf.sqrt(tf.add(tf.sum(tf.square(x), -1, true), 1e-6)));
  const q = l2(heads(conv(linear(u, p.get('q_proj.weight')!), 'q_conv1d.weight')));
  const k = l2(heads(conv(linear(u, p.get('k_proj.weight')!), 'k_conv1d.weight')));
  const v = heads(conv(linear(u, p.get('v_proj.weight')!), 'v_conv1d.weight'));
  let beta = tf.sigmoid(linear(u, p.get('b_proj.weight')!));
  if (o.allowNegEigval) beta = tf.mul(beta, 2);
  const { o: out } = deltaRuleRef(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, beta as tf.Tensor3D, { scale: K ** -0.5 });
  const ms = tf.mean(tf.square(out), -1, true);
  const normed = tf.mul(tf.div(out, tf.sqrt(tf.add(ms, o.normEps))), p.get('o_norm.weight')!);
  return linear(tf.reshape(normed, [B, T, H * K]), p.get('o_proj.weight')!);
}

for (const flag of [false, true]) {
  test(`deltaNetMixer allow_neg_eigval=${flag}: matches the §5.5 oracle; split with state == whole`, () => {
    const D = 12, H = 2, dk = 8, W = 4;
    const p = deltaParams(D, H, dk, W);
    const o: DeltaNetLayerOptions = { hiddenSize: D, numHeads: H, keyDim: H * dk, valueDim: H * dk, convSize: W, useShortConv: true, useBeta: true, normEps: 1e-6, allowNegEigval: flag };
    const u = rnd([2, 10, D]) as tf.Tensor3D;
    const whole = deltaNetMixer(p, '', o, u, { collectStats: true });
    assertClose('mixer vs oracle', whole.y.dataSync(), deltaOracle(p, o, u).dataSync(), 1e-5);
    const [frac, mn, mx] = whole.stats!.dataSync();
    assert.ok(mn! > 0 && mx! < (flag ? 2 : 1) && (flag ? frac! > 0 : frac === 0), `β stats ${frac} ${mn} ${mx}`);
    const a = deltaNetMixer(p, '', o, tf.slice(u, [0, 0, 0], [2, 4, D]) as tf.Tensor3D, { wantState: true });
    const b = deltaNetMixer(p, '', o, tf.slice(u, [0, 4, 0], [2, 6, D]) as tf.Tensor3D, { state: a.state! });
    assertClose('split', tf.concat([a.y, b.y], 1).dataSync(), whole.y.dataSync(), 1e-5);
  });
}

function mambaParams(D: number, Di: number, N: number, R: number, W: number): Params {
  const p: Params = new Map();
  const add = (n: string, t: tf.Tensor) => p.set(n, tf.variable(t));
  add('in_proj.weight', rnd([2 * Di, D], 0.3)); add('conv1d.weight', rnd([Di, 1, W], 0.5)); add('conv1d.bias', rnd([Di], 0.1));
  add('x_proj.weight', rnd([R + 2 * N, Di], 0.3)); add('dt_proj.weight', rnd([Di, R], 0.5)); add('dt_proj.bias', rnd([Di], 0.5));
  add('A_log', tf.log(tf.add(tf.tile(tf.reshape(tf.range(0, N, 1, 'float32'), [1, N]), [Di, 1]), 1)));
  add('D', rnd([Di])); add('out_proj.weight', rnd([D, Di], 0.3));
  return p;
}

function mambaOracle(p: Params, o: MambaLayerOptions, u: tf.Tensor3D): tf.Tensor {
  const [B, T] = u.shape;
  const { innerSize: Di, stateSize: N, dtRank: R } = o;
  const xz = linear(u, p.get('in_proj.weight')!);
  const x = causalConv1dRef(tf.slice(xz, [0, 0, 0], [B, T, Di]) as tf.Tensor3D, tf.reshape(p.get('conv1d.weight')!, [Di, o.convKernel]) as tf.Tensor2D, { bias: p.get('conv1d.bias') as tf.Tensor1D, activation: 'silu' });
  const z = tf.slice(xz, [0, 0, Di], [B, T, Di]);
  const xd = linear(x, p.get('x_proj.weight')!);
  const dt = tf.softplus(tf.add(linear(tf.slice(xd, [0, 0, 0], [B, T, R]), p.get('dt_proj.weight')!), p.get('dt_proj.bias')!));
  const { y } = selectiveScanRef(x, dt as tf.Tensor3D, tf.neg(tf.exp(p.get('A_log')!)) as tf.Tensor2D, tf.slice(xd, [0, 0, R], [B, T, N]) as tf.Tensor3D, tf.slice(xd, [0, 0, R + N], [B, T, N]) as tf.Tensor3D, { D: p.get('D') as tf.Tensor1D, allowNegEigval: o.allowNegEigval });
  return linear(tf.mul(y, silu(z)), p.get('out_proj.weight')!);
}

for (const flag of [false, true]) {
  test(`mambaMixer allow_neg_eigval=${flag}: matches the §8 oracle; split with state == whole`, () => {
    const D = 8, Di = 16, N = 4, R = 2, W = 4;
    const p = mambaParams(D, Di, N, R, W);
    const o: MambaLayerOptions = { hiddenSize: D, innerSize: Di, stateSize: N, dtRank: R, convKernel: W, useConvBias: true, allowNegEigval: flag };
    const u = rnd([2, 9, D]) as tf.Tensor3D;
    const whole = mambaMixer(p, '', o, u, { collectStats: true });
    assertClose('mixer vs oracle', whole.y.dataSync(), mambaOracle(p, o, u).dataSync(), 1e-5);
    const [frac, mn, mx] = whole.stats!.dataSync();
    assert.ok(mx! < 1 && mn! >= (flag ? -1 : 0) && (flag ? frac! > 0 : frac === 0), `Ā stats ${frac} ${mn} ${mx}`);
    const a = mambaMixer(p, '', o, tf.slice(u, [0, 0, 0], [2, 5, D]) as tf.Tensor3D, { wantState: true });
    const b = mambaMixer(p, '', o, tf.slice(u, [0, 5, 0], [2, 4, D]) as tf.Tensor3D, { state: a.state! });
    assertClose('split', tf.concat([a.y, b.y], 1).dataSync(), whole.y.dataSync(), 1e-5);
  });
}
