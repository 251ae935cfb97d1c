// Modular arithmetic without brackets (docs/paper-notes.md §4.3): vocabulary PAD 0, "+" 1, "-" 2, "*" 3,
// "=" 4, digits "0".."4" = 5..9. Lengths are odd (l = 2m − 1): digits at even positions, uniform operators
// at odd positions, "=" at l − 2 and the answer digit at l − 1. The value uses the usual precedence ("*"
// binds tighter, then + and − left to right) and is reduced to 0..4. Example: 2 - 3 - 3 * 2 = 3.
import type { TaskRng } from './rng.ts';
import { sampleOdd, type Task } from './task.ts';
import { Vocab } from './vocab.ts';

export const MODULUS = 5;
const PLUS = 1, MINUS = 2, TIMES = 3, EQ = 4, DIGIT0 = 5;

const mod = (x: number) => ((x % MODULUS) + MODULUS) % MODULUS;

export const modular: Task = {
  name: 'modular',
  description: 'mod-5 arithmetic without brackets, * before + and - (vocab: <pad> + - * = 0 1 2 3 4)',
  kind: 'answer',
  vocab: new Vocab(['<pad>', '+', '-', '*', '=', '0', '1', '2', '3', '4']),
  padId: 0,
  maskId: 0,
  answerIds: [5, 6, 7, 8, 9],
  chance: 1 / 5,
  lengths: { train: [3, 40], test: [40, 256] },
  sampleLength(rng: TaskRng, min: number, max: number): number {
    return sampleOdd(rng, Math.max(3, min), max);
  },
  generate(rng: TaskRng, length: number) {
    if (length < 3 || length % 2 === 0) throw new Error(`modular: length must be odd and ≥ 3, got ${length}`);
    const tokens = new Int32Array(length);
    // Sum of finished terms, and the current product term with its sign, all mod 5.
    let sum = 0, term = 0, sign = 1;
    for (let i = 0; i <= length - 3; ++i) {
      if (i % 2 === 0) {
        const d = rng.int(0, MODULUS - 1);
        tokens[i] = DIGIT0 + d;
        term = i === 0 || tokens[i - 1] !== TIMES ? d : mod(term * d);
      } else {
        const op = PLUS + rng.int(0, 2);
        tokens[i] = op;
        if (op !== TIMES) {
          sum = mod(sum + sign * term);
          sign = op === PLUS ? 1 : -1;
        }
      }
    }
    sum = mod(sum + sign * term);
    tokens[length - 2] = EQ;
    tokens[length - 1] = DIGIT0 + sum;
    return { tokens, answerIndex: length - 1 };
  },
};
