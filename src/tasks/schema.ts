// The schema of a task recipe (recipes/tasks/*.toml): the run-level fields, a [task] section, and the
// [model] and [train] sections of the LM recipe schema (src/config/schema.ts) reused as they are (of [train],
// the stability fields max_nonfinite_steps / spike_* are unused here, and grad_accum must be 1). The LM's
// [data], [eval] and [checkpoint] sections do not apply: the data is generated and the run ends with one
// checkpoint and a test evaluation. Loading reuses the LM loader's `extends` merge; overrides are
// `--section.key=value` as in `lrnn train`.
import path from 'node:path';
import { existsSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { z } from 'zod';
import { ConfigError, RECIPES_DIR, mergeTables, readRecipe } from '../config/load.ts';
import { ModelSchema, TrainSchema } from '../config/schema.ts';
import { TASKS } from './index.ts';

const len = () => z.number().int().min(1);

export const TaskSectionSchema = z.strictObject({
  /** parity | modular | modular_brackets | modular_brackets_nomult | s5 | s5_swaps */
  name: z.enum(Object.keys(TASKS) as [keyof typeof TASKS, ...(keyof typeof TASKS)[]]),
  /** Training lengths (inclusive; the paper's 3..40, counting the answer token). */
  train_min_len: len().default(3),
  train_max_len: len().default(40),
  /** Test lengths (the paper's 40..256). */
  test_min_len: len().default(40),
  test_max_len: len().default(256),
  /** Examples in the test set evaluated at the end (and every eval_every steps). */
  test_examples: z.number().int().min(1).default(512),
  /** Seed of the test set: fixed across training seeds, so runs are scored on the same examples. */
  test_seed: z.number().int().min(0).default(1000),
  /** Evaluate on the test set every N steps (0 = only at the end). */
  eval_every: z.number().int().min(0).default(0),
  /**
   * Examples at training lengths (a held-out stream) scored alongside each periodic test evaluation: shows
   * whether the task is being learned at all before it generalises to longer sequences. 0 = off.
   */
  valid_examples: z.number().int().min(0).default(256),
  /**
   * Length curriculum: over the first N steps the longest training length grows linearly from
   * train_min_len + 2 to train_max_len (then stays there). 0 = off: every step draws from the whole range,
   * as in the paper.
   */
  curriculum_steps: z.number().int().min(0).default(0),
  /**
   * How training lengths are drawn: 'uniform' over the range (the paper), or 'linear', P(l) ∝ l, which spends
   * more of the budget on the longest training lengths. Held-out and test examples are always uniform.
   */
  train_length_weighting: z.enum(['uniform', 'linear']).default('uniform'),
  /**
   * Length bucketing of training batches: the examples of this many consecutive batches are drawn at once,
   * sorted by length and cut into batches again, in a seeded order. The same examples are seen, with far
   * less right-padding (uniform lengths 3–40 pad a batch of 128 to ≈ 2× its tokens). 1 = off.
   */
  bucket_batches: z.number().int().min(1).default(1),
  /** Sequences per evaluation batch. */
  eval_batch_size: z.number().int().min(1).default(64),
});

export const TaskRunSchema = z.strictObject({
  /** Run folder name under out_dir. */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only'),
  out_dir: z.string().min(1).default('checkpoints/tasks'),
  backend: z.enum(['auto', 'lrnn', 'cpu', 'wasm', 'tensorflow']).default('auto'),
  task: TaskSectionSchema,
  model: ModelSchema,
  train: TrainSchema.prefault({}),
  log: z.strictObject({
    /** Print a progress line every N steps. */
    every: z.number().int().min(1).default(25),
  }).prefault({}),
}).superRefine((c, ctx) => {
  const t = c.task;
  if (t.train_min_len > t.train_max_len) ctx.addIssue({ code: 'custom', path: ['task', 'train_min_len'], message: `(${t.train_min_len}) exceeds task.train_max_len (${t.train_max_len})` });
  if (t.test_min_len > t.test_max_len) ctx.addIssue({ code: 'custom', path: ['task', 'test_min_len'], message: `(${t.test_min_len}) exceeds task.test_max_len (${t.test_max_len})` });
  if (c.train.warmup > c.train.steps) ctx.addIssue({ code: 'custom', path: ['train', 'warmup'], message: `(${c.train.warmup}) must not exceed train.steps (${c.train.steps})` });
  if (c.train.min_lr > c.train.lr) ctx.addIssue({ code: 'custom', path: ['train', 'min_lr'], message: `(${c.train.min_lr}) must not exceed train.lr (${c.train.lr})` });
  if (c.train.grad_accum !== 1) ctx.addIssue({ code: 'custom', path: ['train', 'grad_accum'], message: 'must be 1 for task runs (raise train.batch_size instead)' });
  const need = TASKS[t.name].vocab.size;
  if (c.model.vocab_size !== undefined && c.model.vocab_size < need) ctx.addIssue({ code: 'custom', path: ['model', 'vocab_size'], message: `(${c.model.vocab_size}) is smaller than task ${t.name}'s vocabulary (${need})` });
});

export type TaskRunConfig = z.output<typeof TaskRunSchema>;

/** recipes/tasks/, where `lrnn task train NAME` looks for NAME.toml. */
export const TASK_RECIPES_DIR = path.join(RECIPES_DIR, 'tasks');

export function resolveTaskRecipe(recipe: string): string {
  const candidates = [recipe, `${recipe}.toml`].map((p) => path.resolve(p));
  if (!recipe.includes('/')) candidates.push(path.join(TASK_RECIPES_DIR, recipe.endsWith('.toml') ? recipe : `${recipe}.toml`));
  const hit = candidates.find((p) => existsSync(p));
  if (!hit) throw new ConfigError(`task recipe '${recipe}' not found (tried ${candidates.map((c) => path.relative(process.cwd(), c) || c).join(', ')})`);
  return hit;
}

/** `--section.key=value` → a nested table (values read as TOML, else kept as strings). */
export function overridesTable(args: readonly string[]): Record<string, unknown> {
  let out: Record<string, unknown> = {};
  for (const arg of args) {
    const m = /^(?:--)?([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)=(.*)$/s.exec(arg);
    if (!m) throw new ConfigError(`override '${arg}': expected --section.key=value`);
    let value: unknown;
    try {
      value = (parseToml(`v = ${m[2]!}`) as { v: unknown }).v;
    } catch {
      value = m[2]!;
    }
    // Enum-like string fields given bare (--task.name=parity) parse as strings above via the fallback.
    const keys = m[1]!.split('.');
    let leaf: Record<string, unknown> = { [keys[keys.length - 1]!]: value };
    for (let i = keys.length - 2; i >= 0; --i) leaf = { [keys[i]!]: leaf };
    out = mergeTables(out, leaf);
  }
  return out;
}

export function validateTaskConfig(raw: Record<string, unknown>, source: string): TaskRunConfig {
  const r = TaskRunSchema.safeParse(raw);
  if (r.success) return r.data;
  const lines = r.error.issues.map((iss) => {
    const where = iss.path.length ? iss.path.map(String).join('.') : '(top level)';
    if (iss.code === 'unrecognized_keys') return iss.keys.map((k) => `${[...iss.path.map(String), k].join('.')}: unknown key`).join('\n  ');
    return `${where}: ${iss.message.replace(/^Invalid input: /, '')}`;
  });
  throw new ConfigError(`${source}: invalid task recipe:\n  ${lines.join('\n  ')}`);
}

export function loadTaskConfig(recipe: string, overrides: readonly string[] = []): { config: TaskRunConfig; recipePath: string } {
  const recipePath = resolveTaskRecipe(recipe);
  const raw = mergeTables(readRecipe(recipePath), overridesTable(overrides));
  const src = path.relative(process.cwd(), recipePath) || recipePath;
  return { config: validateTaskConfig(raw, overrides.length ? `${src} (with ${overrides.join(' ')})` : src), recipePath };
}
