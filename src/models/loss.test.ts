// The training loss (head + cross-entropy fused and streamed, linearCrossEntropy) against the loss of the full
// logits (forward() + softmaxCrossEntropy, the evaluator's reference path in src/eval/perplexity.ts): the same
// loss and the same gradients up to float32 rounding, for DeltaNet (untied head) and Mamba (tied and untied);
// and evaluation's per-token NLL (tokenLosses: the same streamed op, per row) against the logits' per-token loss.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend/index.ts';
import { softmaxCrossEntropy } from '../kernels/cross_entropy/index.ts';
import { assertClose, rng } from '../testing/assert.ts';
import { fixtureDir, type FixtureName } from '../testing/fixtures.ts';
import { parseConfig } from './config.ts';
import { initModel, type CausalLM } from './index.ts';

before(async () => {
  await initBackend();
});

/** Mean next-token cross-entropy from the materialised logits [B·T, V]. */
function lossFromLogits(model: CausalLM, tokens: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const [B, T1] = tokens.shape;
    const logits = model.forward(tf.slice(tokens, [0, 0], [B, T1 - 1]));
    const targets = tf.reshape(tf.slice(tokens, [0, 1], [B, T1 - 1]), [-1]) as tf.Tensor1D;
    return tf.mean(softmaxCrossEntropy(tf.reshape(logits, [-1, logits.shape[2]]) as tf.Tensor2D, targets)) as tf.Scalar;
  });
}

for (const [fixture, tie] of [['delta_net-std', undefined], ['mamba-neg', true], ['mamba-std', false]] as [FixtureName, boolean | undefined][]) {
  test(`${fixture}${tie === undefined ? '' : ` tie_word_embeddings=${tie}`}: streamed training loss == loss of the full logits (value and every gradient)`, () => {
    const raw = JSON.parse(readFileSync(path.join(fixtureDir(fixture), 'config.json'), 'utf8')) as Record<string, unknown>;
    if (tie !== undefined) raw.tie_word_embeddings = tie;
    const config = parseConfig(raw);
    const model = initModel(config, 11);
    const r = rng(4);
    const tokens = tf.tensor2d(Int32Array.from({ length: 3 * 21 }, () => Math.floor(r() * config.vocab_size)), [3, 21], 'int32');
    const vars = [...model.params.values()];
    const fused = tf.variableGrads(() => model.loss(tokens), vars);
    const full = tf.variableGrads(() => lossFromLogits(model, tokens), vars);
    const a = fused.value.dataSync()[0]!, b = full.value.dataSync()[0]!;
    assert.ok(Math.abs(a - b) <= 1e-6 * b, `loss ${a} vs ${b}`);
    for (const [name, v] of model.params) assertClose(`d${name}`, fused.grads[v.name]!.dataSync(), full.grads[v.name]!.dataSync(), 1e-5);
    // Evaluation (no tape) takes the same streamed path for the loss alone.
    const plain = tf.tidy(() => model.loss(tokens).dataSync()[0]!);
    assert.ok(Math.abs(plain - b) <= 1e-6 * b, `untaped loss ${plain} vs ${b}`);
    tf.dispose([fused.value, full.value, fused.grads, full.grads, tokens]);
    model.dispose();
  });
}

for (const [fixture, tie] of [['delta_net-std', undefined], ['delta_net-neg', undefined], ['mamba-neg', true], ['mamba-std', false]] as [FixtureName, boolean | undefined][]) {
  test(`${fixture}${tie === undefined ? '' : ` tie_word_embeddings=${tie}`}: tokenLosses (evaluation's per-token NLL, streamed) == per-token loss of the full logits`, () => {
    const raw = JSON.parse(readFileSync(path.join(fixtureDir(fixture), 'config.json'), 'utf8')) as Record<string, unknown>;
    if (tie !== undefined) raw.tie_word_embeddings = tie;
    const config = parseConfig(raw);
    const model = initModel(config, 12);
    const r = rng(5);
    const [B, T1] = [3, 19];
    const tokens = tf.tensor2d(Int32Array.from({ length: B * T1 }, () => Math.floor(r() * config.vocab_size)), [B, T1], 'int32');
    const before = tf.memory().numTensors;
    const streamed = model.tokenLosses(tokens);
    assert.deepEqual(streamed.shape, [B * (T1 - 1)]);
    const got = streamed.dataSync() as Float32Array;
    streamed.dispose();
    assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
    const want = tf.tidy(() => {
      const logits = model.forward(tf.slice(tokens, [0, 0], [B, T1 - 1]));
      const targets = tf.reshape(tf.slice(tokens, [0, 1], [B, T1 - 1]), [-1]) as tf.Tensor1D;
      return softmaxCrossEntropy(tf.reshape(logits, [-1, logits.shape[2]]) as tf.Tensor2D, targets).dataSync() as Float32Array;
    });
    for (let i = 0; i < want.length; ++i) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-5 * want[i]!, `position ${i}: ${got[i]} vs ${want[i]}`);
    const mean = got.reduce((a, b) => a + b, 0) / got.length;
    const loss = tf.tidy(() => model.loss(tokens).dataSync()[0]!);
    assert.ok(Math.abs(mean - loss) <= 1e-6 * loss, `mean ${mean} vs loss() ${loss}`);
    assert.throws(() => tf.variableGrads(() => tf.sum(model.tokenLosses(tokens)) as tf.Scalar, [...model.params.values()]), /forward only/);
    tokens.dispose();
    model.dispose();
  });
}
