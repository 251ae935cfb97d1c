// Conformance with the float64 PyTorch fixtures (docs/checkpoint-format.md §14): each fixture checkpoint loads,
// reproduces the reference logits (max abs error ≤ 1e-4, the spec's bound) and loss, and its backward
// reproduces every parameter gradient (relative RMS ≤ 1e-4 per tensor, float32 against float64).
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend/index.ts';
import { readSafetensors } from '../io/safetensors.ts';
import { assertClose, maxAbsDiff } from '../testing/assert.ts';
import { loadCheckpoint } from './checkpoint.ts';
import { FIXTURE_NAMES, fixtureDir } from '../testing/fixtures.ts';

before(async () => { await initBackend(); });

for (const name of FIXTURE_NAMES) {
  test(`${name}: logits, loss and every gradient match the float64 reference`, () => {
    const dir = fixtureDir(name);
    const model = loadCheckpoint(dir);
    const exp = readSafetensors(path.join(dir, 'expected.safetensors')).tensors;
    const train = readSafetensors(path.join(dir, 'train_expected.safetensors')).tensors;
    const ids = exp.get('input_ids')!;
    const tokens = tf.tensor2d(ids.data as Int32Array, [ids.shape[0]!, ids.shape[1]!], 'int32');
    const logits = model.forward(tokens);
    assert.deepEqual(logits.shape, [2, 70, 320]);
    const err = maxAbsDiff(logits.dataSync(), exp.get('logits')!.data);
    assert.ok(err <= 1e-4, `${name}: logits max abs error ${err} > 1e-4`);
    const { value, grads } = tf.variableGrads(() => model.loss(tokens), [...model.params.values()]);
    const loss = value.dataSync()[0]!;
    assert.ok(Math.abs(loss - exp.get('loss')!.data[0]!) <= 1e-5 * Math.abs(loss), `${name}: loss ${loss} vs ${exp.get('loss')!.data[0]}`);
    for (const [pname, v] of model.params) {
      const ref = train.get('grad.' + pname);
      assert.ok(ref, `train_expected has no grad.${pname}`);
      assertClose(`${name} grad.${pname}`, grads[v.name]!.dataSync(), ref.data, 1e-4);
    }
    tf.dispose([tokens, logits, value, ...Object.values(grads)]);
    model.dispose();
  });
}
