// The schema of a task recipe (recipes/tasks/*.toml): the run schema (src/config/schema.ts) extended by a
// [task] section, without the LM's [data], [eval] and [checkpoint] sections (the data is generated and the
// run ends with one checkpoint and a test evaluation). [train] is the run's: the same step engine runs it,
// with its NaN/Inf stop rule and spike telemetry (grad_accum must be 1). Loading is config/load.ts's
// (`extends`, typed `--section.key=value` overrides, validation), with recipes/tasks/ as the named folder.
import path from 'node:path';
import { z } from 'zod';
import { RECIPES_DIR, loadRecipe, validateWith } from '../config/load.ts';
import { RunObjectSchema, checkTrain } from '../config/schema.ts';
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

export const TaskRunSchema = RunObjectSchema.omit({ data: true, eval: true, checkpoint: true }).extend({
  out_dir: z.string().min(1).default('checkpoints/tasks'),
  task: TaskSectionSchema,
}).superRefine((c, ctx) => {
  const t = c.task;
  if (t.train_min_len > t.train_max_len) ctx.addIssue({ code: 'custom', path: ['task', 'train_min_len'], message: `(${t.train_min_len}) exceeds task.train_max_len (${t.train_max_len})` });
  if (t.test_min_len > t.test_max_len) ctx.addIssue({ code: 'custom', path: ['task', 'test_min_len'], message: `(${t.test_min_len}) exceeds task.test_max_len (${t.test_max_len})` });
  checkTrain(c.train, ctx);
  if (c.train.grad_accum !== 1) ctx.addIssue({ code: 'custom', path: ['train', 'grad_accum'], message: 'must be 1 for task runs (raise train.batch_size instead)' });
  const need = TASKS[t.name].vocab.size;
  if (c.model.vocab_size !== undefined && c.model.vocab_size < need) ctx.addIssue({ code: 'custom', path: ['model', 'vocab_size'], message: `(${c.model.vocab_size}) is smaller than task ${t.name}'s vocabulary (${need})` });
});

export type TaskRunConfig = z.output<typeof TaskRunSchema>;

/** recipes/tasks/, where `lrnn task train NAME` looks for NAME.toml. */
export const TASK_RECIPES_DIR = path.join(RECIPES_DIR, 'tasks');

export function validateTaskConfig(raw: Record<string, unknown>, source: string): TaskRunConfig {
  return validateWith(TaskRunSchema, raw, source, 'task recipe');
}

export function loadTaskConfig(recipe: string, overrides: readonly string[] = []): { config: TaskRunConfig; recipePath: string } {
  return loadRecipe(TaskRunSchema, recipe, overrides, TASK_RECIPES_DIR, 'task recipe');
}
