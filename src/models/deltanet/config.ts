// DeltaNet's model configuration: the config.json schema of docs/checkpoint-format.md §3 (fla's
// DeltaNetConfig) with its defaults and derived sizes, the one check of what this format supports, reading
// it from config.json or from a recipe's [model], and its stored-tensor table (§4). Field names are
// snake_case: they are the file format.
import type { ModelConfig as RecipeModel } from '../../config/schema.ts';
import { type KeyError, type ParamSpec, fieldReader, keyErrorIn, recipeKeyError } from '../config_fields.ts';
import { recipeFields } from '../sizes.ts';

export interface DeltaNetConfig {
  model_type: 'delta_net';
  architectures: string[];
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_heads: number;
  expand_k: number;
  expand_v: number;
  use_short_conv: boolean;
  conv_size: number;
  use_beta: boolean;
  allow_neg_eigval: boolean;
  use_gate: boolean;
  use_output_norm: boolean;
  qk_norm: string;
  qk_activation: string;
  hidden_ratio: number;
  intermediate_size: number;
  hidden_act: string;
  norm_eps: number;
  tie_word_embeddings: boolean;
  initializer_range: number;
  max_position_embeddings: number;
  attn_mode: string;
  attn: null;
  fuse_norm: boolean;
  fuse_swiglu: boolean;
  fuse_cross_entropy: boolean;
  fuse_linear_cross_entropy: boolean;
  use_l2warp: boolean;
  bos_token_id: number | null;
  eos_token_id: number | null;
  pad_token_id: number | null;
  use_cache: boolean;
  torch_dtype: string;
}

/** The fields a caller sets: the shape, and any other field that should not take fla's default. */
export type DeltaNetFields = Pick<DeltaNetConfig, 'vocab_size' | 'hidden_size' | 'num_hidden_layers'> &
  Partial<Omit<DeltaNetConfig, 'model_type' | 'architectures' | 'attn'>>;

/** I = 256·ceil(floor(D·hidden_ratio·2/3)/256), fla's SwiGLU width. */
export function deltaNetIntermediate(hidden: number, hiddenRatio = 4): number {
  return 256 * Math.ceil(Math.floor((hidden * hiddenRatio * 2) / 3) / 256);
}

export interface DeltaNetDims {
  D: number; L: number; H: number; keyDim: number; valueDim: number; dk: number; dv: number; I: number; W: number; V: number;
}

export function deltaNetDims(c: DeltaNetConfig): DeltaNetDims {
  const keyDim = Math.floor(c.hidden_size * c.expand_k);
  const valueDim = Math.floor(c.hidden_size * c.expand_v);
  return {
    D: c.hidden_size, L: c.num_hidden_layers, H: c.num_heads, keyDim, valueDim,
    dk: keyDim / c.num_heads, dv: valueDim / c.num_heads, I: c.intermediate_size, W: c.conv_size, V: c.vocab_size,
  };
}

/**
 * A complete, checked DeltaNet config: fla's defaults under `f` (num_heads D/64 and the SwiGLU width follow
 * from the shape unless given). `err` names the key in the words of the caller's source.
 */
export function makeDeltaNetConfig(f: DeltaNetFields, err: KeyError = keyErrorIn('DeltaNet config')): DeltaNetConfig {
  const D = f.hidden_size, hiddenRatio = f.hidden_ratio ?? 4;
  const c: DeltaNetConfig = {
    model_type: 'delta_net', architectures: ['DeltaNetForCausalLM'],
    vocab_size: f.vocab_size, hidden_size: D, num_hidden_layers: f.num_hidden_layers, num_heads: f.num_heads ?? Math.max(1, Math.round(D / 64)),
    expand_k: f.expand_k ?? 1.0, expand_v: f.expand_v ?? 1.0, use_short_conv: f.use_short_conv ?? true, conv_size: f.conv_size ?? 4,
    use_beta: f.use_beta ?? true, allow_neg_eigval: f.allow_neg_eigval ?? false, use_gate: f.use_gate ?? false,
    use_output_norm: f.use_output_norm ?? true, qk_norm: f.qk_norm ?? 'l2', qk_activation: f.qk_activation ?? 'silu',
    hidden_ratio: hiddenRatio, intermediate_size: f.intermediate_size ?? deltaNetIntermediate(D, hiddenRatio),
    hidden_act: f.hidden_act ?? 'swish', norm_eps: f.norm_eps ?? 1e-6, tie_word_embeddings: f.tie_word_embeddings ?? false,
    initializer_range: f.initializer_range ?? 0.02, max_position_embeddings: f.max_position_embeddings ?? 2048,
    attn_mode: f.attn_mode ?? 'chunk', attn: null, fuse_norm: f.fuse_norm ?? true, fuse_swiglu: f.fuse_swiglu ?? true,
    fuse_cross_entropy: f.fuse_cross_entropy ?? true, fuse_linear_cross_entropy: f.fuse_linear_cross_entropy ?? false,
    use_l2warp: f.use_l2warp ?? false,
    bos_token_id: f.bos_token_id ?? null, eos_token_id: f.eos_token_id ?? null, pad_token_id: f.pad_token_id ?? null,
    use_cache: f.use_cache ?? true, torch_dtype: f.torch_dtype ?? 'float32',
  };
  checkDeltaNet(c, err);
  return c;
}

/** What this version of the format supports, and heads that split the key and value widths evenly. */
function checkDeltaNet(c: DeltaNetConfig, err: KeyError): void {
  const unsupported = (key: string, what: string) => err(key, `${what} is not supported by this version of the format`);
  if (c.use_gate) throw unsupported('use_gate', 'true');
  if (c.qk_norm !== 'l2') throw unsupported('qk_norm', `'${c.qk_norm}'`);
  if (c.qk_activation !== 'silu') throw unsupported('qk_activation', `'${c.qk_activation}'`);
  if (!['swish', 'silu'].includes(c.hidden_act)) throw unsupported('hidden_act', `'${c.hidden_act}'`);
  if (c.tie_word_embeddings) throw unsupported('tie_word_embeddings', 'true (DeltaNet checkpoints are untied)');
  const d = deltaNetDims(c);
  if (!Number.isInteger(d.dk) || !Number.isInteger(d.dv)) {
    throw d.keyDim === d.D && d.valueDim === d.D
      ? err(['hidden_size', 'num_heads'], `num_heads ${d.H} does not divide hidden_size ${d.D}`)
      : err('num_heads', `${d.H} does not divide key_dim ${d.keyDim} / value_dim ${d.valueDim}`);
  }
}

/** Validates a parsed config.json object of model_type "delta_net" (unknown keys are ignored, per the spec). */
export function parseDeltaNetConfig(o: Record<string, unknown>, file: string): DeltaNetConfig {
  const g = fieldReader(o, file);
  if (o.attn != null) throw keyErrorIn(file)('attn', 'hybrid attention is not supported by this version of the format');
  return makeDeltaNetConfig({
    vocab_size: g.int('vocab_size'), hidden_size: g.int('hidden_size'), num_hidden_layers: g.int('num_hidden_layers'), num_heads: g.int('num_heads'),
    allow_neg_eigval: g.optBool('allow_neg_eigval'), expand_k: g.optNum('expand_k'), expand_v: g.optNum('expand_v'),
    use_short_conv: g.optBool('use_short_conv'), conv_size: g.optInt('conv_size'), use_beta: g.optBool('use_beta'),
    use_gate: g.optBool('use_gate'), use_output_norm: g.optBool('use_output_norm'), qk_norm: g.optStr('qk_norm'),
    qk_activation: g.optStr('qk_activation'), hidden_ratio: g.optInt('hidden_ratio'), intermediate_size: g.optInt('intermediate_size'),
    hidden_act: g.optStr('hidden_act'), norm_eps: g.optNum('norm_eps'), tie_word_embeddings: g.optBool('tie_word_embeddings'),
    initializer_range: g.optNum('initializer_range'), max_position_embeddings: g.optInt('max_position_embeddings'),
    bos_token_id: g.idOrNull('bos_token_id'), eos_token_id: g.idOrNull('eos_token_id'), pad_token_id: g.idOrNull('pad_token_id'),
  }, keyErrorIn(file));
}

/** The [model] keys a DeltaNet recipe may set besides arch, size, allow_neg_eigval and vocab_size. */
export const DELTANET_RECIPE_KEYS = [
  'hidden_size', 'num_hidden_layers', 'num_heads', 'expand_k', 'expand_v', 'conv_size', 'intermediate_size', 'tie_word_embeddings', 'initializer_range',
] as const;

/** The DeltaNet config of a recipe's [model] (`vocabSize`: the tokenizer's, when the recipe gives none). */
export function deltaNetConfigFromRecipe(m: RecipeModel, vocabSize?: number): DeltaNetConfig {
  return makeDeltaNetConfig(recipeFields(m, 'deltanet', DELTANET_RECIPE_KEYS, vocabSize), recipeKeyError);
}

/** The tensors stored in model.safetensors, in the spec's table order (§4). */
export function deltaNetParamSpecs(c: DeltaNetConfig): ParamSpec[] {
  const out: ParamSpec[] = [];
  const add = (name: string, shape: number[]) => out.push({ name, shape });
  const d = deltaNetDims(c);
  add('model.embeddings.weight', [d.V, d.D]);
  for (let i = 0; i < d.L; ++i) {
    const p = `model.layers.${i}.`;
    add(p + 'attn_norm.weight', [d.D]);
    add(p + 'attn.q_proj.weight', [d.keyDim, d.D]);
    add(p + 'attn.k_proj.weight', [d.keyDim, d.D]);
    add(p + 'attn.v_proj.weight', [d.valueDim, d.D]);
    if (c.use_beta) add(p + 'attn.b_proj.weight', [d.H, d.D]);
    if (c.use_short_conv) {
      add(p + 'attn.q_conv1d.weight', [d.keyDim, 1, d.W]);
      add(p + 'attn.k_conv1d.weight', [d.keyDim, 1, d.W]);
      add(p + 'attn.v_conv1d.weight', [d.valueDim, 1, d.W]);
    }
    add(p + 'attn.o_norm.weight', [d.dv]);
    add(p + 'attn.o_proj.weight', [d.D, d.valueDim]);
    add(p + 'mlp_norm.weight', [d.D]);
    add(p + 'mlp.gate_proj.weight', [d.I, d.D]);
    add(p + 'mlp.up_proj.weight', [d.I, d.D]);
    add(p + 'mlp.down_proj.weight', [d.D, d.I]);
  }
  add('model.norm.weight', [d.D]);
  add('lm_head.weight', [d.V, d.D]);
  return out;
}
