// What every state-tracking task provides, and how an example becomes model input and labels.
// Two kinds:
//   'answer'   (parity, modular arithmetic): one answer token at the end; the loss and the metric come
//              from that token alone, predicted at the position just before it (the xLSTM harness's
//              shift = 1 layout: input = masked tokens[0..l−2], labels[t] = tokens[t+1] at the answer).
//   'sequence' (S5 word problems): a label at every position (the prefix product), no shift.
// Lengths follow the paper: the sequence length counts every token, the answer included.
import { TaskRng } from './rng.ts';
import type { Vocab } from './vocab.ts';

/** Label value of unsupervised positions (softmaxCrossEntropy's default ignoreIndex). */
export const IGNORE = -100;

export type TaskName = 'parity' | 'modular' | 'modular_brackets' | 'modular_brackets_nomult' | 's5' | 's5_swaps';

export interface Example {
  /** The paper's sequence length (every token, the answer included). */
  length: number;
  /** The full sequence in ids: answer tasks include the answer; sequence tasks hold the inputs x. */
  tokens: Int32Array;
  /** Where the answer sits in `tokens` (answer tasks; −1 for sequence tasks). */
  answerIndex: number;
  /** What the model reads: the answer replaced by the mask id, cut after the last supervised input. */
  input: Int32Array;
  /** Aligned with `input`: the id to predict from position t, or IGNORE. */
  labels: Int32Array;
}

export interface Task {
  name: TaskName;
  description: string;
  kind: 'answer' | 'sequence';
  vocab: Vocab;
  /** Right-padding id of batches. */
  padId: number;
  /** Replaces the answer in the input (a dedicated id where the paper's 0 would collide with a symbol). */
  maskId: number;
  /** Ids a correct answer can take (the metric's chance level is 1 / their count). */
  answerIds: readonly number[];
  /** Chance accuracy r of the scaled accuracy (acc − r)/(1 − r). */
  chance: number;
  /** Default [min, max] lengths of training and test examples. */
  lengths: { train: [number, number]; test: [number, number] };
  /** A sequence length drawn for the range (the task may restrict it: odd lengths, a minimum). */
  sampleLength(rng: TaskRng, min: number, max: number): number;
  /** Answer tasks: the full token sequence of that length and its answer position. */
  generate(rng: TaskRng, length: number): { tokens: Int32Array; answerIndex: number; targets?: Int32Array };
}

/** Model input and labels of a generated answer-task sequence (the shift = 1 layout). */
export function answerExample(task: Task, tokens: Int32Array, answerIndex: number, length = tokens.length): Example {
  const masked = tokens.slice();
  masked[answerIndex] = task.maskId;
  const n = tokens.length - 1;
  const input = masked.slice(0, n);
  const labels = new Int32Array(n).fill(IGNORE);
  labels[answerIndex - 1] = tokens[answerIndex]!;
  return { length, tokens, answerIndex, input, labels };
}

/**
 * How lengths are drawn within [min, max]: 'uniform' is the task's own draw (uniform over the range, as in the
 * paper); 'linear' tilts it toward long sequences, P(l) ∝ l · P_task(l), by rejection.
 */
export type LengthWeighting = 'uniform' | 'linear';

/** Example `index` of a split stream: a pure function of (seed, stream, index, range, weighting). */
export function makeExample(task: Task, seed: number, stream: number, index: number, min: number, max: number, weighting: LengthWeighting = 'uniform'): Example {
  const rng = new TaskRng(seed, stream, index);
  let length = task.sampleLength(rng, min, max);
  // Accept l with probability l / max: the task's restrictions (odd lengths, a floor) carry over unchanged.
  if (weighting === 'linear') while (rng.uniform() * max >= length) length = task.sampleLength(rng, min, max);
  const g = task.generate(rng, length);
  if (task.kind === 'sequence') {
    return { length, tokens: g.tokens, answerIndex: -1, input: g.tokens, labels: g.targets! };
  }
  return answerExample(task, g.tokens, g.answerIndex, length);
}

/**
 * A user's example in symbols: answer tasks give the tokens before the answer and the answer symbol (the
 * model predicts it right after the last token); sequence tasks give one answer symbol per token.
 */
export function exampleFromSymbols(task: Task, tokens: readonly string[], answer: string | readonly string[], where = 'example'): Example {
  if (tokens.length === 0) throw new Error(`${where}: "tokens" is empty`);
  let input: Int32Array;
  try {
    input = task.vocab.encode(tokens);
  } catch (e) {
    throw new Error(`${where}: tokens: ${(e as Error).message}`);
  }
  if (task.kind === 'sequence') {
    if (!Array.isArray(answer) || answer.length !== tokens.length) throw new Error(`${where}: task ${task.name} needs "answer" as an array of ${tokens.length} symbols (one per token)`);
    let labels: Int32Array;
    try {
      labels = task.vocab.encode(answer as string[]);
    } catch (e) {
      throw new Error(`${where}: answer: ${(e as Error).message}`);
    }
    return { length: tokens.length, tokens: input, answerIndex: -1, input, labels };
  }
  if (typeof answer !== 'string') throw new Error(`${where}: task ${task.name} needs "answer" as one symbol string`);
  const a = task.vocab.has(answer) ? task.vocab.id(answer) : -1;
  if (!task.answerIds.includes(a)) {
    throw new Error(`${where}: answer ${JSON.stringify(answer)} is not a possible answer of ${task.name} (one of ${task.answerIds.map((i) => JSON.stringify(task.vocab.symbol(i))).join(' ')})`);
  }
  const labels = new Int32Array(input.length).fill(IGNORE);
  labels[input.length - 1] = a;
  const full = new Int32Array(input.length + 1);
  full.set(input);
  full[input.length] = a;
  return { length: input.length + 1, tokens: full, answerIndex: input.length, input, labels };
}

/** Scaled accuracy (acc − r)/(1 − r): 0 for chance, 1 for perfect. */
export function scaledAccuracy(acc: number, chance: number): number {
  return (acc - chance) / (1 - chance);
}

/** Uniform odd length in [min, max] (modular arithmetic without brackets: l = 2m − 1). */
export function sampleOdd(rng: TaskRng, min: number, max: number): number {
  const lo = min % 2 === 1 ? min : min + 1;
  const hi = max % 2 === 1 ? max : max - 1;
  if (hi < lo) throw new Error(`no odd length in [${min}, ${max}]`);
  return lo + 2 * rng.int(0, (hi - lo) / 2);
}
