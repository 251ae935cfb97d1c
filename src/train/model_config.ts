// From a recipe's [model] section to the checkpoint config.json of the model: the named size's shape,
// then every override the recipe gives (same field names as config.json), then derived fields.
import type { ModelConfig as RecipeModel } from '../config/schema.ts';
import { deltaNetDims, deltaNetIntermediate, makeConfig, sizeOptions, type ModelConfig } from '../models/config.ts';

/**
 * `vocabSize` is the tokenizer's (the recipe's model.vocab_size wins when given). Errors name the recipe key.
 */
export function modelConfigFromRecipe(m: RecipeModel, vocabSize?: number): ModelConfig {
  let base;
  try {
    base = sizeOptions(m.arch, m.size, {
      allowNegEigval: m.allow_neg_eigval,
      ...(m.vocab_size ?? vocabSize ? { vocabSize: m.vocab_size ?? vocabSize } : {}),
      ...(m.hidden_size ? { hiddenSize: m.hidden_size } : {}),
      ...(m.num_hidden_layers ? { numLayers: m.num_hidden_layers } : {}),
      ...(m.num_heads ? { numHeads: m.num_heads } : {}),
      ...(m.state_size ? { stateSize: m.state_size } : {}),
      ...(m.initializer_range ? { initializerRange: m.initializer_range } : {}),
    });
  } catch (e) {
    throw new Error(`model.size: ${(e as Error).message}`);
  }
  const c = makeConfig(base);
  if (c.model_type === 'delta_net') {
    if (m.expand_k !== undefined) c.expand_k = m.expand_k;
    if (m.expand_v !== undefined) c.expand_v = m.expand_v;
    if (m.conv_size !== undefined) c.conv_size = m.conv_size;
    c.intermediate_size = m.intermediate_size ?? deltaNetIntermediate(c.hidden_size, c.hidden_ratio);
    if (m.tie_word_embeddings) throw new Error('model.tie_word_embeddings: DeltaNet checkpoints are untied in this format version');
    const d = deltaNetDims(c);
    if (!Number.isInteger(d.dk) || !Number.isInteger(d.dv)) throw new Error(`model.num_heads: ${c.num_heads} does not divide key_dim ${d.keyDim} / value_dim ${d.valueDim}`);
    for (const k of ['state_size', 'expand', 'conv_kernel', 'time_step_rank'] as const) {
      if (m[k] !== undefined) throw new Error(`model.${k}: a Mamba field, but model.arch is deltanet`);
    }
  } else {
    if (m.expand !== undefined) c.expand = m.expand;
    c.intermediate_size = m.intermediate_size ?? c.expand * c.hidden_size;
    if (m.conv_kernel !== undefined) c.conv_kernel = m.conv_kernel;
    if (m.time_step_rank !== undefined) c.time_step_rank = m.time_step_rank;
    if (m.tie_word_embeddings !== undefined) c.tie_word_embeddings = m.tie_word_embeddings;
    for (const k of ['num_heads', 'expand_k', 'expand_v', 'conv_size'] as const) {
      if (m[k] !== undefined) throw new Error(`model.${k}: a DeltaNet field, but model.arch is mamba`);
    }
  }
  return c;
}
