// Model configurations: the config.json schemas of docs/checkpoint-format.md §3 (DeltaNet, fla's DeltaNetConfig)
// and §6 (Mamba, transformers' MambaConfig), their derived quantities, the named sizes table, and parsing
// with errors that name the file and key. Field names stay snake_case because they are the file format.

export type ModelKind = 'deltanet' | 'mamba';

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

export type ModelConfig = DeltaNetConfig | MambaConfig;

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

export interface MambaDims {
  D: number; L: number; Di: number; N: number; R: number; W: number; V: number;
}

export function mambaDims(c: MambaConfig): MambaDims {
  return { D: c.hidden_size, L: c.num_hidden_layers, Di: c.intermediate_size, N: c.state_size, R: c.time_step_rank, W: c.conv_kernel, V: c.vocab_size };
}

/** What `lrnn init` and recipes choose; everything else takes the spec's values. */
export interface ModelOptions {
  model: ModelKind;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  allowNegEigval: boolean;
  /** DeltaNet heads (must divide hiddenSize). */
  numHeads?: number;
  /** Mamba d_state (default 16). */
  stateSize?: number;
  initializerRange?: number;
  bosTokenId?: number | null;
  eosTokenId?: number | null;
  padTokenId?: number | null;
}

export function makeDeltaNetConfig(o: Omit<ModelOptions, 'model'>): DeltaNetConfig {
  const H = o.numHeads ?? Math.max(1, Math.round(o.hiddenSize / 64));
  if (o.hiddenSize % H !== 0) throw new Error(`deltanet: num_heads ${H} does not divide hidden_size ${o.hiddenSize}`);
  return {
    model_type: 'delta_net', architectures: ['DeltaNetForCausalLM'],
    vocab_size: o.vocabSize, hidden_size: o.hiddenSize, num_hidden_layers: o.numLayers, num_heads: H,
    expand_k: 1.0, expand_v: 1.0, use_short_conv: true, conv_size: 4, use_beta: true,
    allow_neg_eigval: o.allowNegEigval, use_gate: false, use_output_norm: true, qk_norm: 'l2', qk_activation: 'silu',
    hidden_ratio: 4, intermediate_size: deltaNetIntermediate(o.hiddenSize), hidden_act: 'swish', norm_eps: 1e-6,
    tie_word_embeddings: false, initializer_range: o.initializerRange ?? 0.02, max_position_embeddings: 2048,
    attn_mode: 'chunk', attn: null, fuse_norm: true, fuse_swiglu: true, fuse_cross_entropy: true,
    fuse_linear_cross_entropy: false, use_l2warp: false,
    bos_token_id: o.bosTokenId ?? null, eos_token_id: o.eosTokenId ?? null, pad_token_id: o.padTokenId ?? null,
    use_cache: true, torch_dtype: 'float32',
  };
}

export function makeMambaConfig(o: Omit<ModelOptions, 'model'>): MambaConfig {
  return {
    model_type: 'mamba', architectures: ['MambaForCausalLM'],
    vocab_size: o.vocabSize, hidden_size: o.hiddenSize, num_hidden_layers: o.numLayers, state_size: o.stateSize ?? 16,
    expand: 2, intermediate_size: 2 * o.hiddenSize, conv_kernel: 4, time_step_rank: Math.ceil(o.hiddenSize / 16),
    use_bias: false, use_conv_bias: true, hidden_act: 'silu', layer_norm_epsilon: 1e-5, residual_in_fp32: true,
    allow_neg_eigval: o.allowNegEigval, tie_word_embeddings: true, initializer_range: o.initializerRange ?? 0.02,
    rescale_prenorm_residual: false, time_step_scale: 1.0, time_step_min: 0.001, time_step_max: 0.1,
    time_step_init_scheme: 'random', time_step_floor: 1e-4,
    pad_token_id: o.padTokenId ?? null, bos_token_id: o.bosTokenId ?? null, eos_token_id: o.eosTokenId ?? null,
    use_cache: true, use_mambapy: false, torch_dtype: 'float32',
  };
}

export function makeConfig(o: ModelOptions): ModelConfig {
  return o.model === 'deltanet' ? makeDeltaNetConfig(o) : makeMambaConfig(o);
}

/** One named size: the shape per architecture, and the vocabulary used when no tokenizer is given. */
export interface SizeEntry {
  description: string;
  vocabSize: number;
  deltanet: { hiddenSize: number; numLayers: number; numHeads: number };
  mamba: { hiddenSize: number; numLayers: number; stateSize: number };
}

/**
 * The named model sizes. `340m` is fla/flame's delta_net_340M (D 1024, 24 layers, 8 heads of 128) and `370m`
 * is mamba-370m (D 1024, 48 layers); Mamba layers carry no MLP, so its layer count is doubled at equal width.
 */
export const MODEL_SIZES: Record<string, SizeEntry> = {
  tiny: {
    description: 'tests: D 64, 2 layers',
    vocabSize: 512,
    deltanet: { hiddenSize: 64, numLayers: 2, numHeads: 2 },
    mamba: { hiddenSize: 64, numLayers: 2, stateSize: 16 },
  },
  small: {
    description: 'CPU runs: D 384, ≈ 17M (DeltaNet, 6 layers) / 15M (Mamba, 12 layers) parameters at vocab 8192',
    vocabSize: 8192,
    deltanet: { hiddenSize: 384, numLayers: 6, numHeads: 6 },
    mamba: { hiddenSize: 384, numLayers: 12, stateSize: 16 },
  },
  '125m': {
    description: 'GPT-2-small scale: D 768, 12 layers (DeltaNet, 12 heads) / 24 layers (Mamba)',
    vocabSize: 32000,
    deltanet: { hiddenSize: 768, numLayers: 12, numHeads: 12 },
    mamba: { hiddenSize: 768, numLayers: 24, stateSize: 16 },
  },
  '340m': {
    description: "the paper's DeltaNet LM shape (fla-org/flame delta_net_340M): D 1024, 24 layers, 8 heads",
    vocabSize: 32000,
    deltanet: { hiddenSize: 1024, numLayers: 24, numHeads: 8 },
    mamba: { hiddenSize: 1024, numLayers: 48, stateSize: 16 },
  },
  '370m': {
    description: "the paper's Mamba LM shape (mamba-370m): D 1024, 48 layers, d_state 16",
    vocabSize: 32000,
    deltanet: { hiddenSize: 1024, numLayers: 24, numHeads: 8 },
    mamba: { hiddenSize: 1024, numLayers: 48, stateSize: 16 },
  },
};

/** ModelOptions for a named size. */
export function sizeOptions(model: ModelKind, size: string, over: Partial<ModelOptions> = {}): ModelOptions {
  const s = MODEL_SIZES[size];
  if (!s) throw new Error(`unknown model size '${size}' (known: ${Object.keys(MODEL_SIZES).join(', ')})`);
  return { model, vocabSize: s.vocabSize, allowNegEigval: false, ...s[model], ...over };
}

// ---------------------------------------------------------------------------------------------------------
// Parsing config.json

type Json = Record<string, unknown>;

function getter(obj: Json, file: string) {
  const bad = (key: string, want: string): never => {
    throw new Error(`${file}: key '${key}': expected ${want}, got ${JSON.stringify(obj[key])}`);
  };
  return {
    int(key: string, fallback?: number): number {
      const v = obj[key] ?? fallback;
      if (!Number.isInteger(v) || (v as number) <= 0) bad(key, 'a positive integer');
      return v as number;
    },
    num(key: string, fallback?: number): number {
      const v = obj[key] ?? fallback;
      if (typeof v !== 'number' || !Number.isFinite(v)) bad(key, 'a number');
      return v as number;
    },
    bool(key: string, fallback?: boolean): boolean {
      const v = obj[key] ?? fallback;
      if (typeof v !== 'boolean') bad(key, 'true or false');
      return v as boolean;
    },
    str(key: string, fallback?: string): string {
      const v = obj[key] ?? fallback;
      if (typeof v !== 'string') bad(key, 'a string');
      return v as string;
    },
    idOrNull(key: string): number | null {
      const v = obj[key];
      if (v === undefined || v === null) return null;
      if (!Number.isInteger(v) || (v as number) < 0) bad(key, 'a token id or null');
      return v as number;
    },
  };
}

/** Validates a parsed config.json (unknown keys are ignored, per the spec) and fills optional defaults. */
export function parseConfig(raw: unknown, file = 'config.json'): ModelConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${file}: not a JSON object`);
  const o = raw as Json;
  const g = getter(o, file);
  const type = o.model_type;
  if (type === 'delta_net') {
    const D = g.int('hidden_size');
    const c = makeDeltaNetConfig({ vocabSize: g.int('vocab_size'), hiddenSize: D, numLayers: g.int('num_hidden_layers'), numHeads: g.int('num_heads'), allowNegEigval: g.bool('allow_neg_eigval', false) });
    c.expand_k = g.num('expand_k', 1);
    c.expand_v = g.num('expand_v', 1);
    c.use_short_conv = g.bool('use_short_conv', true);
    c.conv_size = g.int('conv_size', 4);
    c.use_beta = g.bool('use_beta', true);
    c.use_gate = g.bool('use_gate', false);
    c.use_output_norm = g.bool('use_output_norm', true);
    c.qk_norm = g.str('qk_norm', 'l2');
    c.qk_activation = g.str('qk_activation', 'silu');
    c.hidden_ratio = g.int('hidden_ratio', 4);
    c.intermediate_size = o.intermediate_size == null ? deltaNetIntermediate(D, c.hidden_ratio) : g.int('intermediate_size');
    c.hidden_act = g.str('hidden_act', 'swish');
    c.norm_eps = g.num('norm_eps', 1e-6);
    c.tie_word_embeddings = g.bool('tie_word_embeddings', false);
    c.initializer_range = g.num('initializer_range', 0.02);
    c.max_position_embeddings = g.int('max_position_embeddings', 2048);
    c.bos_token_id = g.idOrNull('bos_token_id');
    c.eos_token_id = g.idOrNull('eos_token_id');
    c.pad_token_id = g.idOrNull('pad_token_id');
    const unsupported = (key: string, why: string) => {
      throw new Error(`${file}: key '${key}': ${why} is not supported by this version of the format`);
    };
    if (c.use_gate) unsupported('use_gate', 'true');
    if (c.qk_norm !== 'l2') unsupported('qk_norm', `'${c.qk_norm}'`);
    if (c.qk_activation !== 'silu') unsupported('qk_activation', `'${c.qk_activation}'`);
    if (!['swish', 'silu'].includes(c.hidden_act)) unsupported('hidden_act', `'${c.hidden_act}'`);
    if (c.tie_word_embeddings) unsupported('tie_word_embeddings', 'true (DeltaNet is untied)');
    if (o.attn != null) unsupported('attn', 'hybrid attention');
    const d = deltaNetDims(c);
    if (!Number.isInteger(d.dk) || !Number.isInteger(d.dv)) throw new Error(`${file}: num_heads ${c.num_heads} does not divide key_dim ${d.keyDim} / value_dim ${d.valueDim}`);
    return c;
  }
  if (type === 'mamba') {
    const D = g.int('hidden_size');
    const c = makeMambaConfig({ vocabSize: g.int('vocab_size'), hiddenSize: D, numLayers: g.int('num_hidden_layers'), stateSize: g.int('state_size', 16), allowNegEigval: g.bool('allow_neg_eigval', false) });
    c.expand = g.int('expand', 2);
    c.intermediate_size = g.int('intermediate_size', c.expand * D);
    c.conv_kernel = g.int('conv_kernel', 4);
    c.time_step_rank = o.time_step_rank === 'auto' ? Math.ceil(D / 16) : g.int('time_step_rank', Math.ceil(D / 16));
    c.use_bias = g.bool('use_bias', false);
    c.use_conv_bias = g.bool('use_conv_bias', true);
    c.hidden_act = g.str('hidden_act', 'silu');
    c.layer_norm_epsilon = g.num('layer_norm_epsilon', 1e-5);
    c.tie_word_embeddings = g.bool('tie_word_embeddings', true);
    c.initializer_range = g.num('initializer_range', 0.02);
    c.rescale_prenorm_residual = g.bool('rescale_prenorm_residual', false);
    c.time_step_scale = g.num('time_step_scale', 1);
    c.time_step_min = g.num('time_step_min', 0.001);
    c.time_step_max = g.num('time_step_max', 0.1);
    c.time_step_floor = g.num('time_step_floor', 1e-4);
    c.bos_token_id = g.idOrNull('bos_token_id');
    c.eos_token_id = g.idOrNull('eos_token_id');
    c.pad_token_id = g.idOrNull('pad_token_id');
    if (c.use_bias) throw new Error(`${file}: key 'use_bias': true (in_proj/out_proj biases) is not supported by this version of the format`);
    if (c.hidden_act !== 'silu') throw new Error(`${file}: key 'hidden_act': '${c.hidden_act}' is not supported (silu only)`);
    return c;
  }
  throw new Error(`${file}: key 'model_type': expected "delta_net" or "mamba", got ${JSON.stringify(type)}`);
}

/** An expected stored tensor: name and PyTorch shape. */
export interface ParamSpec {
  name: string;
  shape: number[];
}

/** The tensors stored in model.safetensors for this config, in the spec's table order (§4, §7). */
export function paramSpecs(c: ModelConfig): ParamSpec[] {
  const out: ParamSpec[] = [];
  const add = (name: string, shape: number[]) => out.push({ name, shape });
  if (c.model_type === 'delta_net') {
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
  } else {
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
  }
  return out;
}

/** The recommended no-weight-decay set (§12): tensors with fewer than 2 dims, plus every A_log. */
export function noWeightDecay(c: ModelConfig): string[] {
  return paramSpecs(c).filter((p) => p.shape.length < 2 || p.name.endsWith('.A_log')).map((p) => p.name);
}
