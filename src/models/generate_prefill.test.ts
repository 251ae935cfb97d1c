// Prefill in chunks is the same computation as prefill at once (the recurrent state carries across chunk
// borders), so a long prompt can run in bounded memory; generation stops right after the stop token.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '../backend/index.ts';
import { modelConfigFromRecipe } from './config.ts';
import { generate } from './generate.ts';
import { initModel } from './index.ts';

before(async () => {
  await initBackend({ warn: () => {} });
});

for (const kind of ['deltanet', 'mamba'] as const) {
  test(`${kind}: chunked prefill (1, 7, 64 tokens) gives the unchunked continuation; the stop token ends it`, () => {
    const model = initModel(modelConfigFromRecipe({ arch: kind, size: 'tiny', allow_neg_eigval: true }), 5);
    const prompt = Array.from({ length: 150 }, (_, i) => (i * 37 + 11) % model.config.vocab_size);
    const opts = { maxNewTokens: 12, temperature: 0.8, seed: 3 };
    const whole = generate(model, prompt, { ...opts, prefillChunk: prompt.length });
    for (const chunk of [1, 7, 64]) assert.deepEqual(generate(model, prompt, { ...opts, prefillChunk: chunk }), whole, `chunk ${chunk}`);
    const k = 4;
    const stopped = generate(model, prompt, { ...opts, prefillChunk: 64, stopTokenId: whole[k]! });
    assert.deepEqual(stopped, whole.slice(0, whole.indexOf(whole[k]!) + 1));
    assert.deepEqual(generate(model, prompt, { ...opts, maxNewTokens: 0 }), []);
    model.dispose();
  });
}
