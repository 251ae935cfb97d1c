// The state-tracking tasks by name, and batching of generated or user examples for the model.
import { modularBrackets, modularBracketsNoMult } from './brackets.ts';
import { modular } from './modular.ts';
import { parity } from './parity.ts';
import { s5, s5Swaps } from './s5.ts';
import { TaskRng, STREAMS } from './rng.ts';
import { IGNORE, makeExample, type Example, type LengthWeighting, type Task, type TaskName } from './task.ts';

export * from './task.ts';
export { Vocab } from './vocab.ts';
export { TaskRng, STREAMS, type Split } from './rng.ts';

export const TASKS: Record<TaskName, Task> = {
  parity,
  modular,
  modular_brackets: modularBrackets,
  modular_brackets_nomult: modularBracketsNoMult,
  s5,
  s5_swaps: s5Swaps,
};

export function getTask(name: string): Task {
  const t = (TASKS as Record<string, Task>)[name];
  if (!t) throw new Error(`unknown task '${name}' (known: ${Object.keys(TASKS).join(', ')})`);
  return t;
}

/** Examples start .. start+count−1 of a stream. */
export function makeExamples(task: Task, seed: number, stream: number, start: number, count: number, min: number, max: number, weighting: LengthWeighting = 'uniform'): Example[] {
  const out: Example[] = [];
  for (let i = 0; i < count; ++i) out.push(makeExample(task, seed, stream, start + i, min, max, weighting));
  return out;
}

/**
 * Training batch `step` (0-based) of `batchSize` examples. With `window` > 1 the examples of batches
 * [w·window, (w+1)·window) are drawn together, sorted by length (ties by index) and cut into batches whose
 * order is shuffled by a generator seeded from (seed, w): every example of the stream is still used exactly
 * once, each batch is a pure function of (seed, step), and padding drops to the length spread of a bucket.
 * `cache` keeps the current window's batches between calls; `weighting` is makeExample's length draw.
 */
export function trainExamples(
  task: Task, seed: number, step: number, batchSize: number, min: number, max: number,
  { window = 1, cache, weighting = 'uniform' }: { window?: number; cache?: Map<number, Example[][]>; weighting?: LengthWeighting } = {},
): Example[] {
  if (window <= 1) return makeExamples(task, seed, STREAMS.train, step * batchSize, batchSize, min, max, weighting);
  const w = Math.floor(step / window);
  let batches = cache?.get(w);
  if (!batches) {
    const pool = makeExamples(task, seed, STREAMS.train, w * window * batchSize, window * batchSize, min, max, weighting);
    const order = pool.map((_, i) => i).sort((a, b) => pool[a]!.input.length - pool[b]!.input.length || a - b);
    batches = [];
    for (let b = 0; b < window; ++b) batches.push(order.slice(b * batchSize, (b + 1) * batchSize).map((i) => pool[i]!));
    // Fisher–Yates on the bucket order, from a stream no example uses (index space of the window ids).
    const rng = new TaskRng(seed, STREAMS.bucketOrder, w);
    for (let i = window - 1; i > 0; --i) {
      const j = rng.int(0, i);
      [batches[i], batches[j]] = [batches[j]!, batches[i]!];
    }
    cache?.clear();
    cache?.set(w, batches);
  }
  return batches[step - w * window]!;
}

export interface Batch {
  /** [B, T] row-major ids, right-padded with the task's pad id. */
  input: Int32Array;
  /** [B, T] labels, IGNORE on padding and unsupervised positions. */
  labels: Int32Array;
  B: number;
  T: number;
}

/** Right-pads examples to the longest (causal models never see the padding from earlier positions). */
export function collate(task: Task, examples: readonly Example[]): Batch {
  const B = examples.length;
  const T = Math.max(...examples.map((e) => e.input.length));
  const input = new Int32Array(B * T).fill(task.padId);
  const labels = new Int32Array(B * T).fill(IGNORE);
  examples.forEach((e, b) => {
    input.set(e.input, b * T);
    labels.set(e.labels, b * T);
  });
  return { input, labels, B, T };
}
