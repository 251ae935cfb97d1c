// Training conformance (fixtures/README.md): 5 AdamW steps (lr 1e-3, betas 0.9/0.95, eps 1e-8, decoupled
// weight decay 0.1 except on <2-dim tensors and A_log, no clipping) on the fixture batch reproduce the
// float64 reference: losses before each step and after the last within 1e-4 relative, and every final
// tensor within relative RMS 1e-4 (float32 against float64).
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend/index.ts';
import { readSafetensors } from '../io/safetensors.ts';
import { AdamW } from '../optim/adamw.ts';
import { assertClose } from '../testing/assert.ts';
import { loadCheckpoint } from './checkpoint.ts';
import { FIXTURE_NAMES, fixtureDir } from '../testing/fixtures.ts';

before(async () => { await initBackend(); });

for (const name of FIXTURE_NAMES) {
  test(`${name}: 5 AdamW steps match the float64 reference`, () => {
    const dir = fixtureDir(name);
    const model = loadCheckpoint(dir);
    const exp = readSafetensors(path.join(dir, 'expected.safetensors')).tensors;
    const train = readSafetensors(path.join(dir, 'train_expected.safetensors'));
    const noDecay = new Set(train.metadata.no_decay!.split(','));
    const ids = exp.get('input_ids')!;
    const tokens = tf.tensor2d(ids.data as Int32Array, [ids.shape[0]!, ids.shape[1]!], 'int32');
    const specs = [...model.params].map(([n, v]) => ({ name: n, shape: v.shape }));
    const opt = new AdamW(specs, { betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1 }, (n) => noDecay.has(n));
    assert.deepEqual([...opt.noDecay].sort(), [...noDecay].sort(), 'no-decay set');
    const values = new Map<string, Float32Array>();
    for (const [n, v] of model.params) values.set(n, new Float32Array(v.dataSync() as Float32Array));
    const losses: number[] = [];
    for (let step = 0; step < 5; ++step) {
      const { value, grads } = tf.variableGrads(() => model.loss(tokens), [...model.params.values()]);
      losses.push(value.dataSync()[0]!);
      const g = new Map<string, Float32Array>();
      for (const [n, v] of model.params) g.set(n, grads[v.name]!.dataSync() as Float32Array);
      opt.update(values, g, 1e-3);
      tf.dispose([value, ...Object.values(grads)]);
      for (const [n, v] of model.params) tf.tidy(() => v.assign(tf.tensor(values.get(n)!, v.shape, 'float32')));
    }
    losses.push(tf.tidy(() => model.loss(tokens).dataSync()[0]!));
    const ref = train.tensors.get('losses')!.data;
    for (let i = 0; i < 6; ++i) assert.ok(Math.abs(losses[i]! - ref[i]!) <= 1e-4 * Math.abs(ref[i]!), `${name}: losses[${i}] ${losses[i]} vs ${ref[i]}`);
    for (const [n] of model.params) assertClose(`${name} final.${n}`, values.get(n)!, train.tensors.get('final.' + n)!.data, 1e-4);
    tokens.dispose();
    model.dispose();
  });
}
