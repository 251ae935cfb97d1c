// The named model sizes (recipes' model.size, `lrnn init --size`): per architecture the shape fields of its
// config.json, and the vocabulary used when no tokenizer says otherwise. And how a recipe's [model] section
// becomes config fields: the size's shape, then the recipe's overrides (same names as config.json).
import type { ModelConfig as RecipeModel } from '../config/schema.ts';
import { recipeKeyError } from './config_fields.ts';

export type ModelKind = 'deltanet' | 'mamba';

/** One named size: the shape per architecture, and the vocabulary used when no tokenizer is given. */
export interface SizeEntry {
  description: string;
  vocab_size: number;
  deltanet: { hidden_size: number; num_hidden_layers: number; num_heads: number };
  mamba: { hidden_size: number; num_hidden_layers: number; state_size: number };
}

/**
 * The named model sizes. `340m` is fla/flame's delta_net_340M (D 1024, 24 layers, 8 heads of 128) and `370m`
 * is mamba-370m (D 1024, 48 layers); Mamba layers carry no MLP, so its layer count is doubled at equal width.
 * Both architectures share the width D; Mamba's d_state is 16 throughout.
 */
export const MODEL_SIZES: Record<string, SizeEntry> = Object.fromEntries(([
  // name, description, vocab_size, D, DeltaNet layers, DeltaNet heads, Mamba layers
  ['tiny', 'tests: D 64, 2 layers', 512, 64, 2, 2, 2],
  ['small', 'CPU runs: D 384, ≈ 17M (DeltaNet, 6 layers) / 15M (Mamba, 12 layers) parameters at vocab 8192', 8192, 384, 6, 6, 12],
  ['125m', 'GPT-2-small scale: D 768, 12 layers (DeltaNet, 12 heads) / 24 layers (Mamba)', 32000, 768, 12, 12, 24],
  ['340m', "the paper's DeltaNet LM shape (fla-org/flame delta_net_340M): D 1024, 24 layers, 8 heads", 32000, 1024, 24, 8, 48],
  ['370m', "the paper's Mamba LM shape (mamba-370m): D 1024, 48 layers, d_state 16", 32000, 1024, 24, 8, 48],
] as const).map(([name, description, vocab_size, hidden_size, dnLayers, num_heads, mambaLayers]) => [name, {
  description, vocab_size,
  deltanet: { hidden_size, num_hidden_layers: dnLayers, num_heads },
  mamba: { hidden_size, num_hidden_layers: mambaLayers, state_size: 16 },
}]));

const ARCH_NAME: Record<ModelKind, string> = { deltanet: 'DeltaNet', mamba: 'Mamba' };

/** Keys of [model] every architecture reads; the rest belong to one architecture. */
const SHARED_KEYS = new Set(['arch', 'size', 'allow_neg_eigval', 'vocab_size']);

/**
 * Config fields of `arch` from a recipe's [model]: vocab_size (the recipe's, else `vocabSize` — the
 * tokenizer's —, else the size's), the size's shape and allow_neg_eigval, then the recipe's values of `keys`
 * (the fields this architecture takes). A value for another architecture's field is an error naming it.
 */
export function recipeFields<A extends ModelKind, K extends keyof RecipeModel>(m: RecipeModel, arch: A, keys: readonly K[], vocabSize?: number) {
  const size = MODEL_SIZES[m.size];
  if (!size) throw recipeKeyError('size', `unknown model size '${m.size}' (known: ${Object.keys(MODEL_SIZES).join(', ')})`);
  const own = new Set<string>(keys);
  for (const [k, v] of Object.entries(m)) {
    if (v !== undefined && !SHARED_KEYS.has(k) && !own.has(k)) throw recipeKeyError(k, `a ${ARCH_NAME[arch === 'deltanet' ? 'mamba' : 'deltanet']} field, but model.arch is ${arch}`);
  }
  const over: Partial<Pick<RecipeModel, K>> = {};
  for (const k of keys) if (m[k] !== undefined) over[k] = m[k];
  return { vocab_size: m.vocab_size ?? vocabSize ?? size.vocab_size, ...size[arch], allow_neg_eigval: m.allow_neg_eigval, ...over };
}
