// Mamba's model configuration: the config.json schema of docs/checkpoint-format.md §6 (transformers'
// MambaConfig) with its defaults and derived sizes, the one check of what this format supports, reading it
// from config.json or from a recipe's [model], and its stored-tensor table (§7). Field names are
// snake_case: they are the file format.
import type { ModelConfig as RecipeModel } from '../../config/schema.ts';
import { type KeyError, type ParamSpec, fieldReader, keyErrorIn, recipeKeyError } from '../config_fields.ts';
import { recipeFields } from '../sizes.ts';

export interface MambaConfig {
  model_type: 'mamba';
  architectures: string[];
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  state_size: number;
  expand: number;
  intermediate_size: number;
  conv_kernel: number;
  time_step_rank: number;
  use_bias: boolean;
  use_conv_bias: boolean;
  hidden_act: string;
  layer_norm_epsilon: number;
  residual_in_fp32: boolean;
  allow_neg_eigval: boolean;
  tie_word_embeddings: boolean;
  initializer_range: number;
  rescale_prenorm_residual: boolean;
  time_step_scale: number;
  time_step_min: number;
  time_step_max: number;
  time_step_init_scheme: string;
  time_step_floor: number;
  pad_token_id: number | null;
  bos_token_id: number | null;
  eos_token_id: number | null;
  use_cache: boolean;
  use_mambapy: boolean;
  torch_dtype: string;
}

/** The fields a caller sets: the shape, and any other field that should not take transformers' default. */
export type MambaFields = Pick<MambaConfig, 'vocab_size' | 'hidden_size' | 'num_hidden_layers'> &
  Partial<Omit<MambaConfig, 'model_type' | 'architectures'>>;

export interface MambaDims {
  D: number; L: number; Di: number; N: number; R: number; W: number; V: number;
}

export function mambaDims(c: MambaConfig): MambaDims {
  return { D: c.hidden_size, L: c.num_hidden_layers, Di: c.intermediate_size, N: c.state_size, R: c.time_step_rank, W: c.conv_kernel, V: c.vocab_size };
}

/**
 * A complete, checked Mamba config: transformers' defaults under `f` (d_inner = expand·D and dt_rank =
 * ceil(D/16) follow from the shape unless given). `err` names the key in the words of the caller's source.
 */
export function makeMambaConfig(f: MambaFields, err: KeyError = keyErrorIn('Mamba config')): MambaConfig {
  const D = f.hidden_size, expand = f.expand ?? 2;
  const c: MambaConfig = {
    model_type: 'mamba', architectures: ['MambaForCausalLM'],
    vocab_size: f.vocab_size, hidden_size: D, num_hidden_layers: f.num_hidden_layers, state_size: f.state_size ?? 16,
    expand, intermediate_size: f.intermediate_size ?? expand * D, conv_kernel: f.conv_kernel ?? 4, time_step_rank: f.time_step_rank ?? Math.ceil(D / 16),
    use_bias: f.use_bias ?? false, use_conv_bias: f.use_conv_bias ?? true, hidden_act: f.hidden_act ?? 'silu',
    layer_norm_epsilon: f.layer_norm_epsilon ?? 1e-5, residual_in_fp32: f.residual_in_fp32 ?? true,
    allow_neg_eigval: f.allow_neg_eigval ?? false, tie_word_embeddings: f.tie_word_embeddings ?? true, initializer_range: f.initializer_range ?? 0.02,
    rescale_prenorm_residual: f.rescale_prenorm_residual ?? false, time_step_scale: f.time_step_scale ?? 1.0,
    time_step_min: f.time_step_min ?? 0.001, time_step_max: f.time_step_max ?? 0.1,
    time_step_init_scheme: f.time_step_init_scheme ?? 'random', time_step_floor: f.time_step_floor ?? 1e-4,
    pad_token_id: f.pad_token_id ?? null, bos_token_id: f.bos_token_id ?? null, eos_token_id: f.eos_token_id ?? null,
    use_cache: f.use_cache ?? true, use_mambapy: f.use_mambapy ?? false, torch_dtype: f.torch_dtype ?? 'float32',
  };
  if (c.use_bias) throw err('use_bias', 'true (in_proj/out_proj biases) is not supported by this version of the format');
  if (c.hidden_act !== 'silu') throw err('hidden_act', `'${c.hidden_act}' is not supported (silu only)`);
  return c;
}

/** Validates a parsed config.json object of model_type "mamba" (unknown keys are ignored, per the spec). */
export function parseMambaConfig(o: Record<string, unknown>, file: string): MambaConfig {
  const g = fieldReader(o, file);
  return makeMambaConfig({
    vocab_size: g.int('vocab_size'), hidden_size: g.int('hidden_size'), num_hidden_layers: g.int('num_hidden_layers'),
    state_size: g.optInt('state_size'), allow_neg_eigval: g.optBool('allow_neg_eigval'), expand: g.optInt('expand'),
    intermediate_size: g.optInt('intermediate_size'), conv_kernel: g.optInt('conv_kernel'),
    time_step_rank: o.time_step_rank === 'auto' ? undefined : g.optInt('time_step_rank'),
    use_bias: g.optBool('use_bias'), use_conv_bias: g.optBool('use_conv_bias'), hidden_act: g.optStr('hidden_act'),
    layer_norm_epsilon: g.optNum('layer_norm_epsilon'), tie_word_embeddings: g.optBool('tie_word_embeddings'),
    initializer_range: g.optNum('initializer_range'), rescale_prenorm_residual: g.optBool('rescale_prenorm_residual'),
    time_step_scale: g.optNum('time_step_scale'), time_step_min: g.optNum('time_step_min'), time_step_max: g.optNum('time_step_max'),
    time_step_floor: g.optNum('time_step_floor'),
    bos_token_id: g.idOrNull('bos_token_id'), eos_token_id: g.idOrNull('eos_token_id'), pad_token_id: g.idOrNull('pad_token_id'),
  }, keyErrorIn(file));
}

/** The [model] keys a Mamba recipe may set besides arch, size, allow_neg_eigval and vocab_size. */
export const MAMBA_RECIPE_KEYS = [
  'hidden_size', 'num_hidden_layers', 'state_size', 'expand', 'conv_kernel', 'time_step_rank', 'intermediate_size', 'tie_word_embeddings', 'initializer_range',
] as const;

/** The Mamba config of a recipe's [model] (`vocabSize`: the tokenizer's, when the recipe gives none). */
export function mambaConfigFromRecipe(m: RecipeModel, vocabSize?: number): MambaConfig {
  return makeMambaConfig(recipeFields(m, 'mamba', MAMBA_RECIPE_KEYS, vocabSize), recipeKeyError);
}

/** The tensors stored in model.safetensors, in the spec's table order (§7). */
export function mambaParamSpecs(c: MambaConfig): ParamSpec[] {
  const out: ParamSpec[] = [];
  const add = (name: string, shape: number[]) => out.push({ name, shape });
  const d = mambaDims(c);
  add('backbone.embeddings.weight', [d.V, d.D]);
  for (let i = 0; i < d.L; ++i) {
    const p = `backbone.layers.${i}.`;
    add(p + 'norm.weight', [d.D]);
    add(p + 'mixer.in_proj.weight', [2 * d.Di, d.D]);
    add(p + 'mixer.conv1d.weight', [d.Di, 1, d.W]);
    if (c.use_conv_bias) add(p + 'mixer.conv1d.bias', [d.Di]);
    add(p + 'mixer.x_proj.weight', [d.R + 2 * d.N, d.Di]);
    add(p + 'mixer.dt_proj.weight', [d.Di, d.R]);
    add(p + 'mixer.dt_proj.bias', [d.Di]);
    add(p + 'mixer.A_log', [d.Di, d.N]);
    add(p + 'mixer.D', [d.Di]);
    add(p + 'mixer.out_proj.weight', [d.D, d.Di]);
  }
  add('backbone.norm_f.weight', [d.D]);
  if (!c.tie_word_embeddings) add('lm_head.weight', [d.V, d.D]);
  return out;
}
