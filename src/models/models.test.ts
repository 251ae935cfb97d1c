// Per model (DeltaNet, Mamba) and per allow_neg_eigval value, at the `tiny` size: output shapes, loss ≈ ln V
// at initialisation, a finite non-trivial backward, flag off == the unflagged model bit for bit, β / Ā
// telemetry ranges, save → load → identical logits, and token-by-token recurrent decoding == the parallel
// forward (relative RMS ≤ 1e-5).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend/index.ts';
import { assertClose, rng } from '../testing/assert.ts';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.ts';
import { type ModelConfig, type ModelKind, modelConfigFromRecipe, paramSpecs, parseConfig } from './config.ts';
import { makeDeltaNetConfig } from './deltanet/config.ts';
import { makeMambaConfig } from './mamba/config.ts';
import { initModel, type CausalLM, type DecodeState, disposeState } from './index.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'lrnn-models-'));
before(async () => { await initBackend(); });
after(() => rmSync(tmp, { recursive: true, force: true }));

function randomTokens(B: number, T: number, V: number, seed: number): tf.Tensor2D {
  const r = rng(seed);
  return tf.tensor2d(Int32Array.from({ length: B * T }, () => Math.floor(r() * V)), [B, T], 'int32');
}

function same(a: tf.Tensor, b: tf.Tensor): boolean {
  const x = a.dataSync(), y = b.dataSync();
  return x.length === y.length && x.every((v, i) => Object.is(v, y[i]));
}

for (const kind of ['deltanet', 'mamba'] as ModelKind[]) {
  for (const flag of [false, true]) {
    const label = `${kind} allow_neg_eigval=${flag}`;
    const config = modelConfigFromRecipe({ arch: kind, size: 'tiny', allow_neg_eigval: flag });
    const V = config.vocab_size;

    test(`${label}: shapes, loss ≈ ln V at init, finite backward, telemetry`, () => {
      const model = initModel(config, 7);
      const tokens = randomTokens(2, 13, V, 1);
      const inputs = tf.slice(tokens, [0, 0], [2, 12]) as tf.Tensor2D;
      const logits = model.forward(inputs, { collectStats: true });
      assert.deepEqual(logits.shape, [2, 12, V]);
      assert.equal(model.lastStats.length, config.num_hidden_layers);
      for (const s of model.lastStats) {
        if (kind === 'deltanet') {
          assert.equal(s.quantity, 'beta');
          assert.ok(s.min > 0 && s.max <= (flag ? 2 : 1), `β range [${s.min}, ${s.max}]`);
          if (!flag) assert.equal(s.fracOut, 0);
          else assert.ok(s.fracOut > 0.2 && s.fracOut < 0.8, `β>1 fraction ${s.fracOut} (β≈2·sigmoid(≈0) at init)`);
        } else {
          assert.equal(s.quantity, 'abar');
          assert.ok(s.max < 1 && s.min >= (flag ? -1 : 0), `Ā range [${s.min}, ${s.max}]`);
          if (!flag) assert.equal(s.fracOut, 0);
          else assert.ok(s.fracOut > 0, 'some Ā < 0 at init with the [-1,1] map');
        }
      }
      model.lastStats = [];
      const live = tf.memory().numTensors;
      const { loss, grads } = model.lossAndGrads(tokens, { collectStats: true });
      assert.equal(tf.memory().numTensors, live + grads.size, 'lossAndGrads leaves only the gradients alive');
      assert.equal(model.lastStats.length, config.num_hidden_layers, 'stats collected under the gradient tape');
      assert.ok(Math.abs(loss - Math.log(V)) < 0.1, `loss ${loss} vs ln V = ${Math.log(V)}`);
      let nonzero = 0;
      for (const [name] of model.params) {
        const g = grads.get(name)!.dataSync();
        assert.ok(g.every(Number.isFinite), `${name}: non-finite gradient`);
        if (g.some((x) => x !== 0)) ++nonzero;
      }
      assert.equal(nonzero, model.params.size, 'every parameter gets a gradient');
      tf.dispose([tokens, inputs, logits, ...grads.values()]);
      model.dispose();
    });

    test(`${label}: save → load gives identical logits; recurrent decoding matches the parallel forward`, () => {
      const model = initModel(config, 11);
      const tokens = randomTokens(2, 9, V, 2);
      const ref = model.forward(tokens);
      const dir = path.join(tmp, `${kind}-${flag}`);
      saveCheckpoint(dir, model);
      const loaded = loadCheckpoint(dir);
      assert.equal(loaded.config.allow_neg_eigval, flag);
      const again = loaded.forward(tokens);
      assert.ok(same(ref, again), 'logits after save → load differ');
      // Prefill 3 tokens in parallel, then one token at a time carrying the state.
      const parts: tf.Tensor3D[] = [];
      let state: DecodeState | null = null;
      const pre = loaded.step(tf.slice(tokens, [0, 0], [2, 3]) as tf.Tensor2D, null);
      parts.push(pre.logits);
      state = pre.state;
      for (let t = 3; t < 9; ++t) {
        const r: { logits: tf.Tensor3D; state: DecodeState } = loaded.step(tf.slice(tokens, [0, t], [2, 1]) as tf.Tensor2D, state);
        disposeState(state);
        state = r.state;
        parts.push(r.logits);
      }
      disposeState(state);
      const stepped = tf.concat(parts, 1);
      assertClose(`${label} decode`, stepped.dataSync(), ref.dataSync(), 1e-5);
      tf.dispose([tokens, ref, again, stepped, ...parts]);
      model.dispose();
      loaded.dispose();
    });
  }

  test(`${kind}: flag off is bit-for-bit the unflagged model; flag on changes the output`, () => {
    const off = modelConfigFromRecipe({ arch: kind, size: 'tiny', allow_neg_eigval: false });
    const raw = JSON.parse(JSON.stringify(off)) as Record<string, unknown>;
    delete raw.allow_neg_eigval;
    const unflagged = parseConfig(raw);
    assert.equal(unflagged.allow_neg_eigval, false);
    const on = { ...off, allow_neg_eigval: true };
    const tokens = randomTokens(2, 10, off.vocab_size, 3);
    const outs = [off, unflagged, on].map((c) => {
      const m: CausalLM = initModel(c, 5);
      const y = m.forward(tokens);
      m.dispose();
      return y;
    });
    assert.ok(same(outs[0]!, outs[1]!), 'flag off differs from the unflagged model');
    const d = tf.tidy(() => tf.max(tf.abs(tf.sub(outs[0]!, outs[2]!))).dataSync()[0]!);
    assert.ok(d > 1e-4, `flag on changed the logits by only ${d}`);
    tf.dispose([tokens, ...outs]);
  });
}

test('named sizes: small is 10–20M parameters; 340m/370m have the paper shapes', () => {
  const count = (kind: ModelKind, size: string) => {
    const c = modelConfigFromRecipe({ arch: kind, size, allow_neg_eigval: false });
    return { c, n: paramCount(c) };
  };
  for (const kind of ['deltanet', 'mamba'] as ModelKind[]) {
    const { n } = count(kind, 'small');
    assert.ok(n >= 10e6 && n <= 20e6, `${kind} small has ${n} parameters`);
  }
  const dn = count('deltanet', '340m').c;
  assert.equal(dn.hidden_size, 1024);
  assert.equal(dn.num_hidden_layers, 24);
  assert.ok(dn.model_type === 'delta_net' && dn.num_heads === 8 && dn.intermediate_size === 2816);
  const mb = count('mamba', '370m').c;
  assert.ok(mb.model_type === 'mamba' && mb.hidden_size === 1024 && mb.num_hidden_layers === 48 && mb.state_size === 16);
  // The spec's example DeltaNet (V 8192, D 256, L 4, H 4) has 7,621,120 parameters; Mamba's 3,849,472.
  assert.equal(paramCount(makeDeltaNetConfig({ vocab_size: 8192, hidden_size: 256, num_hidden_layers: 4, num_heads: 4, allow_neg_eigval: true })), 7621120);
  assert.equal(paramCount(makeMambaConfig({ vocab_size: 8192, hidden_size: 256, num_hidden_layers: 4, allow_neg_eigval: true })), 3849472);
});

function paramCount(c: ModelConfig): number {
  return paramSpecs(c).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}

test('deltanet without short conv and without beta: no conv/b_proj tensors, decoding still matches', () => {
  const c = { ...modelConfigFromRecipe({ arch: 'deltanet', size: 'tiny', allow_neg_eigval: true }), use_short_conv: false, use_beta: false };
  const names = paramSpecs(c).map((s) => s.name);
  assert.ok(!names.some((n) => n.includes('conv1d') || n.includes('b_proj')));
  const model = initModel(c, 2);
  const tokens = randomTokens(1, 6, c.vocab_size, 4);
  const ref = model.forward(tokens);
  let state: DecodeState | null = null;
  const parts: tf.Tensor3D[] = [];
  for (let t = 0; t < 6; ++t) {
    const r: { logits: tf.Tensor3D; state: DecodeState } = model.step(tf.slice(tokens, [0, t], [1, 1]) as tf.Tensor2D, state);
    disposeState(state);
    state = r.state;
    parts.push(r.logits);
  }
  disposeState(state);
  assertClose('decode without conv', tf.concat(parts, 1).dataSync(), ref.dataSync(), 1e-5);
  model.dispose();
});
