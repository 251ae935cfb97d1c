// Scoring a model on task examples: argmax over the whole vocabulary at every supervised position,
// accuracy and scaled accuracy (acc − r)/(1 − r), and counts by sequence length. Sequence tasks (S5) also
// get the sequence accuracy (every position right). Examples are batched by similar length to save padding.
import * as tf from '@tensorflow/tfjs-core';
import type { CausalLM } from '../models/lm.ts';
import { collate } from './index.ts';
import { IGNORE, scaledAccuracy, type Example, type Task } from './task.ts';

export interface LengthCount {
  n: number;
  correct: number;
  accuracy: number;
  /** Sequence tasks: sequences with every position right. */
  seqCorrect?: number;
}

export interface TaskEvalResult {
  task: string;
  /** Sequences evaluated. */
  examples: number;
  /** Supervised tokens scored (= examples for answer tasks). */
  tokens: number;
  correct: number;
  accuracy: number;
  chance: number;
  scaledAccuracy: number;
  /** Sequence tasks: share of sequences with every position right. */
  sequenceAccuracy?: number;
  minLength: number;
  maxLength: number;
  /** By the paper's sequence length (every token, the answer included). */
  byLength: Record<number, LengthCount>;
}

/** Argmax predictions [B,T] (int32, row-major) of the model on a batch. */
export function predict(model: CausalLM, input: Int32Array, B: number, T: number): Int32Array {
  return tf.tidy(() => {
    const logits = model.forward(tf.tensor2d(input, [B, T], 'int32'));
    return tf.argMax(logits, 2).dataSync() as Int32Array;
  });
}

export function evaluateExamples(model: CausalLM, task: Task, examples: readonly Example[], batchSize = 64): TaskEvalResult {
  if (examples.length === 0) throw new Error('evaluate: no examples');
  const order = examples.map((_, i) => i).sort((a, b) => examples[a]!.input.length - examples[b]!.input.length);
  const byLength: Record<number, LengthCount> = {};
  let tokens = 0, correct = 0, seqCorrect = 0;
  for (let s = 0; s < order.length; s += batchSize) {
    const group = order.slice(s, s + batchSize).map((i) => examples[i]!);
    const batch = collate(task, group);
    const pred = predict(model, batch.input, batch.B, batch.T);
    group.forEach((e, b) => {
      let n = 0, c = 0;
      for (let t = 0; t < batch.T; ++t) {
        const y = batch.labels[b * batch.T + t]!;
        if (y === IGNORE) continue;
        n++;
        if (pred[b * batch.T + t] === y) c++;
      }
      const row = (byLength[e.length] ??= { n: 0, correct: 0, accuracy: 0, ...(task.kind === 'sequence' ? { seqCorrect: 0 } : {}) });
      row.n += n;
      row.correct += c;
      if (task.kind === 'sequence' && c === n) { row.seqCorrect! += 1; seqCorrect++; }
      tokens += n;
      correct += c;
    });
  }
  for (const row of Object.values(byLength)) row.accuracy = row.n ? row.correct / row.n : 0;
  const accuracy = tokens ? correct / tokens : 0;
  const lengths = examples.map((e) => e.length);
  return {
    task: task.name, examples: examples.length, tokens, correct, accuracy, chance: task.chance,
    scaledAccuracy: scaledAccuracy(accuracy, task.chance),
    ...(task.kind === 'sequence' ? { sequenceAccuracy: seqCorrect / examples.length } : {}),
    minLength: Math.min(...lengths), maxLength: Math.max(...lengths), byLength,
  };
}
