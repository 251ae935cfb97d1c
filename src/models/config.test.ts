// The config path of each architecture: a recipe's [model] and a config.json reach the same make*Config,
// which fills the defaults and checks the invariants once; the error names the key in the words of the
// source (model.<key> for a recipe, <file>: key '<key>' for a config.json).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ModelConfig as RecipeModel } from '../config/schema.ts';
import { modelConfigFromRecipe, parseConfig } from './config.ts';
import { deltaNetDims, makeDeltaNetConfig } from './deltanet/config.ts';
import { makeMambaConfig } from './mamba/config.ts';
import { MODEL_SIZES } from './sizes.ts';

const recipe = (m: Partial<RecipeModel> & Pick<RecipeModel, 'arch'>): RecipeModel => ({ size: 'tiny', allow_neg_eigval: false, ...m });
const roundTrip = (c: object) => parseConfig(JSON.parse(JSON.stringify(c)), 'ck/config.json');

test('recipe → config: the size, then the overrides, then the derived fields; config.json parses back to it', () => {
  const dn = modelConfigFromRecipe(recipe({ arch: 'deltanet', allow_neg_eigval: true }), 300);
  assert.ok(dn.model_type === 'delta_net');
  assert.deepEqual([dn.vocab_size, dn.hidden_size, dn.num_hidden_layers, dn.num_heads, dn.intermediate_size, dn.allow_neg_eigval], [300, 64, 2, 2, 256, true]);
  assert.deepEqual(roundTrip(dn), dn);
  // The recipe's vocab_size wins over the tokenizer's; the size's vocabulary is the last resort.
  assert.equal(modelConfigFromRecipe(recipe({ arch: 'deltanet', vocab_size: 77 }), 300).vocab_size, 77);
  assert.equal(modelConfigFromRecipe(recipe({ arch: 'mamba' })).vocab_size, MODEL_SIZES.tiny!.vocab_size);
  const wide = modelConfigFromRecipe(recipe({ arch: 'deltanet', hidden_size: 96, expand_k: 0.5, conv_size: 3, initializer_range: 0.01 }));
  assert.ok(wide.model_type === 'delta_net');
  // Heads stay the size's; the SwiGLU width follows the new width.
  assert.deepEqual([wide.num_heads, wide.intermediate_size, deltaNetDims(wide).dk, wide.conv_size, wide.initializer_range], [2, 256, 24, 3, 0.01]);
  assert.deepEqual(roundTrip(wide), wide);
  const mb = modelConfigFromRecipe(recipe({ arch: 'mamba', hidden_size: 80, expand: 3, state_size: 8, tie_word_embeddings: false }));
  assert.ok(mb.model_type === 'mamba');
  assert.deepEqual([mb.intermediate_size, mb.time_step_rank, mb.state_size, mb.conv_kernel, mb.tie_word_embeddings], [240, 5, 8, 4, false]);
  assert.deepEqual(roundTrip(mb), mb);
  assert.equal(modelConfigFromRecipe(recipe({ arch: 'mamba', intermediate_size: 100, time_step_rank: 7 })).intermediate_size, 100);
});

test('each invariant is named in the words of its source: recipe key, config.json key, or the bare config', () => {
  const cases: [Partial<RecipeModel> & Pick<RecipeModel, 'arch'>, RegExp, RegExp][] = [
    [{ arch: 'deltanet', hidden_size: 7 }, /model\.hidden_size \/ model\.num_heads: num_heads 2 does not divide hidden_size 7$/,
      /ck\/config\.json: key 'hidden_size' \/ 'num_heads': num_heads 2 does not divide hidden_size 7$/],
    [{ arch: 'deltanet', num_heads: 5, expand_k: 0.75 }, /model\.num_heads: 5 does not divide key_dim 48 \/ value_dim 64$/,
      /ck\/config\.json: key 'num_heads': 5 does not divide key_dim 48 \/ value_dim 64$/],
    [{ arch: 'deltanet', tie_word_embeddings: true }, /model\.tie_word_embeddings: true \(DeltaNet checkpoints are untied\) is not supported/,
      /ck\/config\.json: key 'tie_word_embeddings': true \(DeltaNet checkpoints are untied\)/],
  ];
  for (const [m, fromRecipe, fromFile] of cases) {
    assert.throws(() => modelConfigFromRecipe(recipe(m)), fromRecipe);
    // The same values in a config.json: the tiny config with the recipe's fields over it.
    const base = JSON.parse(JSON.stringify(modelConfigFromRecipe(recipe({ arch: m.arch }))));
    const { arch: _a, ...fields } = m;
    assert.throws(() => parseConfig({ ...base, ...fields }, 'ck/config.json'), fromFile);
  }
  // Heads need to split the key and value widths (as in fla), not hidden_size itself.
  const split = modelConfigFromRecipe(recipe({ arch: 'deltanet', num_heads: 3, expand_k: 0.75, expand_v: 0.75 }));
  assert.ok(split.model_type === 'delta_net');
  assert.deepEqual([deltaNetDims(split).dk, deltaNetDims(split).dv], [16, 16]);
  assert.throws(() => makeDeltaNetConfig({ vocab_size: 10, hidden_size: 10, num_hidden_layers: 1, num_heads: 3 }), /DeltaNet config: key 'hidden_size' \/ 'num_heads': num_heads 3 does not divide hidden_size 10$/);
  assert.throws(() => makeMambaConfig({ vocab_size: 10, hidden_size: 10, num_hidden_layers: 1, hidden_act: 'gelu' }), /Mamba config: key 'hidden_act': 'gelu' is not supported \(silu only\)$/);
  assert.throws(() => parseConfig({ ...JSON.parse(JSON.stringify(modelConfigFromRecipe(recipe({ arch: 'mamba' })))), use_bias: true }, 'x.json'), /x\.json: key 'use_bias': true \(in_proj\/out_proj biases\) is not supported/);
  // Recipe-only rules: the size must exist, and a field of the other architecture is refused.
  assert.throws(() => modelConfigFromRecipe(recipe({ arch: 'mamba', size: 'huge' })), /model\.size: unknown model size 'huge' \(known: tiny, small, 125m, 340m, 370m\)$/);
  assert.throws(() => modelConfigFromRecipe(recipe({ arch: 'mamba', num_heads: 2 })), /model\.num_heads: a DeltaNet field, but model\.arch is mamba$/);
  assert.throws(() => modelConfigFromRecipe(recipe({ arch: 'deltanet', state_size: 8 })), /model\.state_size: a Mamba field, but model\.arch is deltanet$/);
  // config.json-only rules: types, and what a config.json can hold that the format does not support.
  assert.throws(() => parseConfig({ model_type: 'delta_net', vocab_size: 10, hidden_size: 8, num_hidden_layers: 1 }, 'f.json'), /f\.json: key 'num_heads': expected a positive integer, got undefined$/);
  assert.throws(() => parseConfig({ model_type: 'mamba', vocab_size: 10, hidden_size: 8, num_hidden_layers: null }, 'f.json'), /f\.json: key 'num_hidden_layers': expected a positive integer, got null$/);
  assert.throws(() => parseConfig({ model_type: 'mamba', vocab_size: 10, hidden_size: 8, num_hidden_layers: 1, time_step_min: 'x' }, 'f.json'), /key 'time_step_min': expected a number, got "x"/);
  assert.throws(() => parseConfig({ model_type: 'delta_net', vocab_size: 10, hidden_size: 8, num_hidden_layers: 1, num_heads: 1, attn: {} }, 'f.json'), /f\.json: key 'attn': hybrid attention is not supported/);
  assert.throws(() => parseConfig({ model_type: 'gpt2' }, 'f.json'), /f\.json: key 'model_type': expected "delta_net" or "mamba", got "gpt2"$/);
});

test('config.json defaults: absent or null optional keys take the defaults, time_step_rank "auto" is ceil(D/16)', () => {
  const dn = parseConfig({ model_type: 'delta_net', vocab_size: 10, hidden_size: 64, num_hidden_layers: 1, num_heads: 4, intermediate_size: null, bos_token_id: null });
  assert.deepEqual(dn, makeDeltaNetConfig({ vocab_size: 10, hidden_size: 64, num_hidden_layers: 1, num_heads: 4 }));
  const mb = parseConfig({ model_type: 'mamba', vocab_size: 10, hidden_size: 40, num_hidden_layers: 1, time_step_rank: 'auto', expand: 3 });
  assert.ok(mb.model_type === 'mamba');
  assert.deepEqual([mb.time_step_rank, mb.intermediate_size, mb.state_size, mb.tie_word_embeddings], [3, 120, 16, true]);
});
