// The step engine updates the parameters in their own storage: the same arrays and tensors every step, the
// caller's weight arrays untouched, and the parameters, AdamW moments and update ratio bitwise those of the
// copy-update-assign step it replaced (written out below as the reference), with and without accumulation,
// for both models.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { f32, fromF32, initBackend } from '../backend/index.ts';
import { loadConfig } from '../config/load.ts';
import { buildModel, initWeights, type CausalLM, type HostTensor } from '../models/index.ts';
import { AdamW } from '../optim/adamw.ts';
import { clipGradNorm, paramGroup } from '../optim/clip.ts';
import { lrAt } from '../optim/schedule.ts';
import { Xoshiro128 } from '../util/rng.ts';
import { modelConfigFromRecipe } from '../models/config.ts';
import { UpdateRatio } from './stability.ts';
import { StepEngine } from './step.ts';

before(async () => {
  await initBackend();
});

const copyWeights = (w: Map<string, HostTensor>) => new Map([...w].map(([k, t]) => [k, { shape: [...t.shape], data: t.data.slice() }]));

function batches(n: number, vocab: number): tf.Tensor2D[] {
  const r = new Xoshiro128(5);
  return Array.from({ length: n }, () => tf.tensor2d(Int32Array.from({ length: 2 * 9 }, () => Math.floor(r.next() * vocab)), [2, 9], 'int32'));
}

/** The step before in-place updates: gradients copied into one buffer, parameters copied, updated, assigned. */
function referenceStep(model: CausalLM, opt: AdamW, data: tf.Tensor2D[], accum: number, lr: number, clipMax: number): number {
  const names = [...model.params.keys()], vars = names.map((n) => model.params.get(n)!);
  const grads = new Map(names.map((n, i) => [n, new Float32Array(vars[i]!.size)]));
  for (let micro = 0; micro < accum; ++micro) {
    const { value, grads: g } = tf.variableGrads(() => model.loss(data[micro]!), vars);
    names.forEach((n, i) => {
      const gi = f32(g[vars[i]!.name]!), acc = grads.get(n)!;
      if (micro === 0) acc.set(gi);
      else for (let j = 0; j < acc.length; ++j) acc[j]! += gi[j]!;
    });
    tf.dispose([value, g]);
  }
  if (accum > 1) for (const acc of grads.values()) for (let j = 0; j < acc.length; ++j) acc[j]! /= accum;
  clipGradNorm(grads, clipMax);
  const values = new Map(names.map((n, i) => [n, f32(vars[i]!).slice()]));
  opt.update(values, grads, lr);
  const ratio = new UpdateRatio();
  tf.tidy(() => names.forEach((n, i) => {
    ratio.add(values.get(n)!, f32(vars[i]!), paramGroup(n));
    vars[i]!.assign(fromF32(values.get(n)!, vars[i]!.shape));
  }));
  return ratio.value();
}

for (const arch of ['deltanet', 'mamba'] as const) {
  for (const accum of [1, 2]) {
    test(`${arch}, grad_accum ${accum}: in-place AdamW equals copy-update-assign bit for bit, in the same storage`, async () => {
      const cfg = loadConfig('tiny', [`--model.arch=${arch}`, `--train.grad_accum=${accum}`]).config;
      const mc = modelConfigFromRecipe(cfg.model, 61);
      const weights = initWeights(mc, 3);
      const pristine = copyWeights(weights);
      const model = buildModel(mc, weights), ref = buildModel(mc, copyWeights(weights));
      const tc = cfg.train;
      const engine = new StepEngine({ model, train: tc });
      const names = [...model.params.keys()];
      const refOpt = new AdamW(names.map((n) => ({ name: n, shape: model.params.get(n)!.shape })), { betas: tc.betas, eps: tc.eps, weightDecay: tc.weight_decay });
      const data = batches(3 * accum, mc.vocab_size);
      let storage: Float32Array[] = [], ids: object[] = [];
      for (let n = 1; n <= 3; ++n) {
        const mine = data.slice((n - 1) * accum, n * accum);
        const out = await engine.step(n, async (micro) => ({ loss: () => model.loss(mine[micro]!), tokens: 16 }));
        const want = referenceStep(ref, refOpt, mine, accum, lrAt(n, engine.sched), tc.clip);
        assert.equal(out.verdict, 'ok');
        assert.ok(out.record.update_ratio > 0);
        assert.equal(out.record.update_ratio, want, `step ${n}: update ratio`);
        for (const name of names) {
          assert.deepEqual(f32(model.params.get(name)!), f32(ref.params.get(name)!), `step ${n}: ${name}`);
          const [a, b] = [engine.opt.state.get(name)!, refOpt.state.get(name)!];
          assert.deepEqual([a.m, a.v], [b.m, b.v], `step ${n}: moments of ${name}`);
        }
        // From the first step on, every parameter keeps its tensor and its array: nothing is re-created.
        const now = names.map((k) => f32(model.params.get(k)!)), nowIds = names.map((k) => model.params.get(k)!.dataId);
        if (n > 1) {
          now.forEach((a, i) => assert.equal(a, storage[i], `step ${n}: ${names[i]} got new storage`));
          nowIds.forEach((d, i) => assert.equal(d, ids[i], `step ${n}: ${names[i]} got a new tensor`));
        }
        storage = now;
        ids = nowIds;
      }
      // The arrays the model was built from are the caller's: the engine copied them once instead of writing there.
      for (const [k, t] of weights) assert.deepEqual(t.data, pristine.get(k)!.data, `caller's ${k} was written`);
      tf.dispose(data);
      model.dispose();
      ref.dispose();
    });
  }
}

test('a parameter reassigned between steps (a weights load) gets a private copy before the next update', async () => {
  const cfg = loadConfig('tiny').config;
  const mc = modelConfigFromRecipe(cfg.model, 61);
  const model = buildModel(mc, initWeights(mc, 3));
  const engine = new StepEngine({ model, train: cfg.train });
  const [data] = batches(1, mc.vocab_size);
  const step = (n: number) => engine.step(n, async () => ({ loss: () => model.loss(data!), tokens: 16 }));
  await step(1);
  const loaded = copyWeights(model.exportWeights());
  const name = 'model.embeddings.weight';
  const before = loaded.get(name)!.data.slice();
  model.loadWeights(loaded);
  assert.equal(f32(model.params.get(name)!), loaded.get(name)!.data, 'tf.tensor keeps the loaded array as storage');
  await step(2);
  assert.deepEqual(loaded.get(name)!.data, before, 'the update wrote into the loaded array');
  assert.notDeepEqual(f32(model.params.get(name)!), before, 'the parameter was not updated');
  data!.dispose();
  model.dispose();
});
