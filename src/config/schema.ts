// The one schema for a training run (a recipe): every section, field, default and doc comment.
// Recipes are TOML files in recipes/; src/config/load.ts reads them (with one level of `extends` and
// `--section.key=value` overrides) and validates them here. Unknown keys and wrong types are errors that
// name the key path. Keys are snake_case, as in the recipe files and the checkpoint config.json.
// Test: node scripts/test.mjs src/config
import { z } from 'zod';

const int = (min = 0) => z.number().int().min(min);
const pos = () => z.number().positive();

// --- [model]

/**
 * The architecture, a named size (src/models/sizes.ts maps it to widths) and optional overrides of the size's
 * fields. Override names are those of the checkpoint's config.json (fla DeltaNetConfig / HF MambaConfig);
 * src/models/{deltanet,mamba}/config.ts turn the section into that config.json and check it.
 */
export const ModelSchema = z.strictObject({
  /** 'deltanet' or 'mamba'. */
  arch: z.enum(['deltanet', 'mamba']),
  /** A named size, e.g. 'tiny', 'small', '340m' (DeltaNet) or '370m' (Mamba). */
  size: z.string().min(1),
  /** Eigenvalue range of the state transition: false = [0,1], true = [-1,1] (DeltaNet β×2, Mamba 2Ā−1). */
  allow_neg_eigval: z.boolean().default(false),
  // Overrides of the size's fields (absent = the size's value).
  vocab_size: int(2).optional(),
  hidden_size: int(1).optional(),
  num_hidden_layers: int(1).optional(),
  /** DeltaNet: heads (must divide key and value dims). */
  num_heads: int(1).optional(),
  /** DeltaNet: key_dim = floor(hidden_size · expand_k). */
  expand_k: pos().optional(),
  /** DeltaNet: value_dim = floor(hidden_size · expand_v). */
  expand_v: pos().optional(),
  /** DeltaNet: short-conv kernel length. */
  conv_size: int(1).optional(),
  /** DeltaNet: MLP width; Mamba: d_inner (= expand · hidden_size by default). */
  intermediate_size: int(1).optional(),
  /** Mamba: SSM state size N (d_state). */
  state_size: int(1).optional(),
  /** Mamba: d_inner = expand · hidden_size. */
  expand: int(1).optional(),
  /** Mamba: conv kernel length (d_conv). */
  conv_kernel: int(1).optional(),
  /** Mamba: rank of the Δ projection (dt_rank). */
  time_step_rank: int(1).optional(),
  /** Share the embedding with lm_head (Mamba default true, DeltaNet default false). */
  tie_word_embeddings: z.boolean().optional(),
  /** Init std of the linear layers and embedding. */
  initializer_range: pos().optional(),
});

// --- [data]

export const DataSchema = z.strictObject({
  /** Dataset folder written by `lrnn prepare` (has manifest.json); relative to the working directory. */
  dir: z.string().min(1).default('data/lrnn-mix'),
  /** Domains (splits) to mix for training, e.g. ["text", "code", "math"]. */
  domains: z.array(z.string().min(1)).min(1).default(['text', 'code', 'math']),
  /** Sampling weight per domain (same length as domains); normalised by the loader. */
  weights: z.array(z.number().nonnegative()).optional(),
  /** Tokens per training sequence (the model sees seq_len inputs and seq_len targets). */
  seq_len: int(2).default(256),
});

// --- [train]

export const TrainSchema = z.strictObject({
  /** Sequences per microbatch. */
  batch_size: int(1).default(8),
  /** Microbatches per optimizer step (gradients are averaged over them). */
  grad_accum: int(1).default(1),
  /**
   * Data parallel: false (lrnn launch's default) = every rank takes batch_size sequences, so N ranks step on
   * N × batch_size; true (how lrnn train spreads itself over the cores) = the ranks share batch_size, so the
   * run steps on the same batches, and follows the same losses, on any number of ranks.
   */
  split_batch_over_ranks: z.boolean().default(false),
  /** Optimizer steps in total. */
  steps: int(1).default(1000),
  /** Peak learning rate. */
  lr: pos().default(3e-4),
  /** Floor of the schedule (cosine ends here; WSD decays to it). */
  min_lr: z.number().nonnegative().default(3e-5),
  /** Linear warm-up steps from 0 to lr. */
  warmup: int(0).default(100),
  /** Learning-rate shape after warm-up. */
  schedule: z.enum(['cosine', 'constant', 'wsd']).default('cosine'),
  /** WSD only: fraction of the steps spent in the final decay to min_lr. */
  decay_frac: z.number().gt(0).max(1).default(0.2),
  /** Decoupled AdamW weight decay (never on norms, biases, A_log, D, Δ bias). */
  weight_decay: z.number().nonnegative().default(0.1),
  /** AdamW (β1, β2). */
  betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.95]),
  /** AdamW ε. */
  eps: pos().default(1e-8),
  /** Global gradient-norm clip; 0 turns clipping off. */
  clip: z.number().nonnegative().default(1.0),
  /** Seed for initialisation, data order and every random draw. */
  seed: int(0).default(1234),
  /** Stop the run after this many skipped NaN/Inf steps. */
  max_nonfinite_steps: int(0).default(10),
  /** Rolling window (steps) of the loss-spike z-score. */
  spike_window: int(2).default(50),
  /** z-score above which a step's loss is flagged as a spike. */
  spike_z: pos().default(4),
});

// --- [eval]

export const EvalSchema = z.strictObject({
  /** Evaluate every N steps (0 = only at the end). */
  every: int(0).default(0),
  /** Validation splits to evaluate. */
  splits: z.array(z.string().min(1)).default(['text', 'code', 'math']),
  /** Batches per split per evaluation (bounded, so evaluation stays cheap). */
  batches: int(1).default(8),
  /** Evaluate after the last step. */
  at_end: z.boolean().default(true),
  /**
   * The closing table: after the last step, the run's checkpoint (as `lrnn eval --checkpoint RUN_DIR` picks it)
   * is scored on the test split of every eval split, this many tokens each (or the whole split); 0 = none.
   */
  final_tokens: int(0).default(65536),
});

// --- [checkpoint]

export const CheckpointSchema = z.strictObject({
  /** Save every N steps (0 = only at the end). */
  every: int(0).default(0),
  /** Keep the newest N periodic checkpoints (older ones are deleted). */
  keep_last: int(1).default(2),
  /** Also keep the checkpoint with the best mean validation loss. */
  keep_best: z.boolean().default(true),
});

// --- [log]

export const LogSchema = z.strictObject({
  /** Write an info log line every N steps (metrics.jsonl always gets every step). */
  every: int(1).default(10),
  /** Progress bar on stderr: 'auto' = only when stderr is a TTY. */
  progress: z.union([z.boolean(), z.literal('auto')]).default('auto'),
  /** pino level of the log file and terminal. */
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
});

// --- the run

/** The run's sections before the cross-field checks; recipe kinds that extend the run (task recipes) start here. */
export const RunObjectSchema = z.strictObject({
  /** Run name: the folder checkpoints/<name>/ (letters, digits, '-', '_', '.'). */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only'),
  /** Where run folders go. */
  out_dir: z.string().min(1).default('checkpoints'),
  /** TF.js backend ('auto' picks the fastest available). */
  backend: z.enum(['auto', 'lrnn', 'cpu', 'wasm', 'tensorflow']).default('auto'),
  model: ModelSchema,
  data: DataSchema.prefault({}),
  train: TrainSchema.prefault({}),
  eval: EvalSchema.prefault({}),
  checkpoint: CheckpointSchema.prefault({}),
  log: LogSchema.prefault({}),
});

/** The [train] checks every recipe kind shares. */
export function checkTrain(t: TrainConfig, ctx: z.RefinementCtx): void {
  if (t.min_lr > t.lr) {
    ctx.addIssue({ code: 'custom', path: ['train', 'min_lr'], message: `(${t.min_lr}) must not exceed train.lr (${t.lr})` });
  }
  if (t.warmup > t.steps) {
    ctx.addIssue({ code: 'custom', path: ['train', 'warmup'], message: `(${t.warmup}) must not exceed train.steps (${t.steps})` });
  }
}

export const RunConfigSchema = RunObjectSchema.superRefine((c, ctx) => {
  if (c.data.weights && c.data.weights.length !== c.data.domains.length) {
    ctx.addIssue({ code: 'custom', path: ['data', 'weights'], message: `has ${c.data.weights.length} entries but data.domains has ${c.data.domains.length}` });
  }
  checkTrain(c.train, ctx);
});

/** A validated run configuration (deeply frozen by load.ts). */
export type RunConfig = z.output<typeof RunConfigSchema>;
export type ModelConfig = RunConfig['model'];
export type DataConfig = RunConfig['data'];
export type TrainConfig = z.output<typeof TrainSchema>;
export type EvalConfig = RunConfig['eval'];

/** Sequences per microbatch on each of `worldSize` ranks; an error naming the keys when they cannot be shared evenly. */
export function rankBatchSize(train: Pick<RunConfig['train'], 'batch_size' | 'split_batch_over_ranks'>, worldSize: number): number {
  if (!train.split_batch_over_ranks || worldSize <= 1) return train.batch_size;
  if (train.batch_size % worldSize !== 0) throw new Error(`train.batch_size (${train.batch_size}) with train.split_batch_over_ranks: not divisible by the ${worldSize} ranks`);
  return train.batch_size / worldSize;
}
export type CheckpointConfig = RunConfig['checkpoint'];
export type LogConfig = RunConfig['log'];
