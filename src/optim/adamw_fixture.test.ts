// The training conformance fixture (spec/fixtures/*/train_expected.safetensors): five PyTorch AdamW steps on
// the same batch, from the fixture weights, through the model's own forward and backward. Checks the
// losses before each step and after the last, and every tensor after the five steps.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { f32, initBackend } from '../backend/index.ts';
import { readSafetensors } from '../io/safetensors.ts';
import { loadCheckpoint } from '../models/checkpoint.ts';
import { assertClose } from '../testing/assert.ts';
import { FIXTURE_NAMES, fixtureDir } from '../testing/fixtures.ts';
import { AdamW } from './adamw.ts';

for (const fixture of FIXTURE_NAMES) {
  test(`${fixture}: 5 AdamW steps reproduce PyTorch's losses and final weights`, async () => {
    await initBackend();
    const dir = fixtureDir(fixture);
    const model = loadCheckpoint(dir);
    const exp = readSafetensors(path.join(dir, 'expected.safetensors')).tensors;
    const train = readSafetensors(path.join(dir, 'train_expected.safetensors')).tensors;
    const ids = exp.get('input_ids')!;
    const tokens = tf.tensor2d(Int32Array.from(ids.data), ids.shape as [number, number], 'int32');
    const names = [...model.params.keys()];
    const vars = names.map((n) => model.params.get(n)!);
    const opt = new AdamW(names.map((n) => ({ name: n, shape: model.params.get(n)!.shape })), { betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1 });
    const losses: number[] = [];
    const before = tf.memory().numTensors;
    for (let step = 0; step <= 5; ++step) {
      const { value, grads } = tf.variableGrads(() => model.loss(tokens), vars);
      losses.push((await value.data())[0]!);
      if (step === 5) { tf.dispose([value, grads]); break; }
      const g = new Map(names.map((n, i) => [n, f32(grads[vars[i]!.name]!).slice()]));
      const p = new Map(names.map((n, i) => [n, f32(vars[i]!).slice()]));
      opt.update(p, g, 1e-3);
      tf.tidy(() => names.forEach((n, i) => vars[i]!.assign(tf.tensor(p.get(n)!, vars[i]!.shape))));
      tf.dispose([value, grads]);
    }
    assert.equal(tf.memory().numTensors, before, 'tensors leaked by the training steps');
    assertClose(`${fixture} losses`, losses, train.get('losses')!.data as Float32Array, 1e-4);
    for (const n of names) assertClose(`${fixture} final.${n}`, f32(model.params.get(n)!), train.get(`final.${n}`)!.data as Float32Array, 1e-4);
    tokens.dispose();
    model.dispose();
  });
}
