// The state-tracking tasks by name, and batching of generated or user examples for the model.
import { modularBrackets, modularBracketsNoMult } from './brackets.ts';
import { modular } from './modular.ts';
import { parity } from './parity.ts';
import { s5, s5Swaps } from './s5.ts';
import { IGNORE, makeExample, type Example, type Task, type TaskName } from './task.ts';

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
export function makeExamples(task: Task, seed: number, stream: number, start: number, count: number, min: number, max: number): Example[] {
  const out: Example[] = [];
  for (let i = 0; i < count; ++i) out.push(makeExample(task, seed, stream, start + i, min, max));
  return out;
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
