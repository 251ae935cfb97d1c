// Sampling: greedy and top-k choices, seeded reproducibility, greedy decoding equal to repeated argmax of
// the parallel forward, and no tensor growth with the generated length (O(1) memory).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend/index.ts';
import { modelConfigFromRecipe } from './config.ts';
import { generate, sampleToken } from './generate.ts';
import { initModel } from './index.ts';
import { seededUniform } from './init.ts';

before(async () => { await initBackend(); });

test('sampleToken: temperature 0 is argmax; top-k never leaves the k best; frequencies follow softmax', () => {
  const logits = Float32Array.from([0, 3, 1, 2.5, -1]);
  assert.equal(sampleToken(logits, 0, 0, Math.random), 1);
  const r = seededUniform(9);
  const counts = [0, 0, 0, 0, 0];
  for (let i = 0; i < 4000; ++i) ++counts[sampleToken(logits, 1, 2, r)]!;
  assert.equal(counts[0]! + counts[2]! + counts[4]!, 0, `top-2 sampled outside {1,3}: ${counts}`);
  const p1 = Math.exp(3) / (Math.exp(3) + Math.exp(2.5));
  assert.ok(Math.abs(counts[1]! / 4000 - p1) < 0.03, `P(1) ${counts[1]! / 4000} vs ${p1}`);
});

for (const kind of ['deltanet', 'mamba'] as const) {
  test(`${kind}: greedy generation = repeated argmax of the parallel forward; seeded; no tensor growth`, () => {
    const model = initModel(modelConfigFromRecipe({ arch: kind, size: 'tiny', allow_neg_eigval: true }), 21);
    const prompt = [5, 17, 300, 2];
    const greedy = generate(model, prompt, { maxNewTokens: 6, temperature: 0 });
    const seq = [...prompt];
    for (let i = 0; i < 6; ++i) {
      const next = tf.tidy(() => {
        const logits = model.forward(tf.tensor2d(seq, [1, seq.length], 'int32'));
        return tf.argMax(tf.reshape(tf.slice(logits, [0, seq.length - 1, 0], [1, 1, -1]), [-1])).dataSync()[0]!;
      });
      seq.push(next);
    }
    assert.deepEqual(greedy, seq.slice(prompt.length));
    const a = generate(model, prompt, { maxNewTokens: 5, temperature: 1, topK: 50, seed: 4 });
    assert.deepEqual(generate(model, prompt, { maxNewTokens: 5, temperature: 1, topK: 50, seed: 4 }), a);
    const before = tf.memory().numTensors;
    const streamed: number[] = [];
    generate(model, prompt, { maxNewTokens: 20, seed: 1, onToken: (id) => streamed.push(id) });
    assert.equal(streamed.length, 20);
    assert.equal(tf.memory().numTensors, before, 'generate leaked tensors');
    assert.throws(() => generate(model, [], { maxNewTokens: 1 }), /at least one token/);
    assert.throws(() => generate(model, [99999], { maxNewTokens: 1 }), /outside the vocabulary/);
    model.dispose();
  });
}
