// Modular arithmetic with brackets (docs/paper-notes.md §4.4; the generator of Deletang et al. as used by the
// xLSTM harness). Vocabulary: digits "0".."4" = 0..4, "+" 5, "-" 6, "*" 7, "(" 8, ")" 9, "=" 10, PAD 11 and a
// dedicated MASK 12 (the harness masks with 0, which is the digit "0" here). For a length l = max(U, 5) the
// expression has e = l − 3 tokens, built recursively: e < 5 gives a terminal n, -n, (n) or (-n); otherwise
// ( L op R ) with |L| uniform in 1..e−4 and |R| = e − |L| − 3. Layout: expression, "=", answer, PAD.
// Example: (((3+3)+-1)+-2)-((3-(-3))+((1+4)))=2.
import type { TaskRng } from './rng.ts';
import type { Task, TaskName } from './task.ts';
import { Vocab } from './vocab.ts';

const M = 5;
const PLUS = 5, MINUS = 6, TIMES = 7, LP = 8, RP = 9, EQ = 10, PAD = 11, MASK = 12;
const mod = (x: number) => ((x % M) + M) % M;

/** Appends the tokens of a random expression of exactly `len` tokens to `out`; returns its value mod 5. */
export function genExpression(rng: TaskRng, len: number, mult: boolean, out: number[]): number {
  if (len < 1) throw new Error(`brackets: cannot generate an expression of length ${len}`);
  if (len < 5) {
    const n = rng.int(0, M - 1);
    if (len === 1) out.push(n);
    else if (len === 2) out.push(MINUS, n);
    else if (len === 3) out.push(LP, n, RP);
    else out.push(LP, MINUS, n, RP);
    return len % 2 === 0 ? mod(-n) : n;
  }
  const left = rng.int(1, len - 4);
  const right = len - left - 3;
  out.push(LP);
  const a = genExpression(rng, left, mult, out);
  const opAt = out.length;
  out.push(PLUS); // placeholder; the operator is drawn after both operands, as the reference does
  const b = genExpression(rng, right, mult, out);
  out.push(RP);
  const op = rng.int(0, mult ? 2 : 1);
  out[opAt] = PLUS + op;
  return op === 0 ? mod(a + b) : op === 1 ? mod(a - b) : mod(a * b);
}

function bracketsTask(name: TaskName, mult: boolean): Task {
  return {
    name,
    description: `mod-5 arithmetic with brackets${mult ? '' : ', + and - only'} (vocab: 0 1 2 3 4 + - * ( ) = <pad> <mask>)`,
    kind: 'answer',
    vocab: new Vocab(['0', '1', '2', '3', '4', '+', '-', '*', '(', ')', '=', '<pad>', '<mask>']),
    padId: PAD,
    maskId: MASK,
    answerIds: [0, 1, 2, 3, 4],
    chance: 1 / 5,
    lengths: { train: [3, 40], test: [40, 256] },
    sampleLength(rng: TaskRng, min: number, max: number): number {
      return Math.max(rng.int(min, max), 5);
    },
    generate(rng: TaskRng, length: number) {
      if (length < 4) throw new Error(`${name}: length must be ≥ 4, got ${length}`);
      const out: number[] = [];
      const value = genExpression(rng, length - 3, mult, out);
      const answerIndex = out.length + 1;
      out.push(EQ, value, PAD);
      return { tokens: Int32Array.from(out), answerIndex };
    },
  };
}

export const modularBrackets = bracketsTask('modular_brackets', true);
/** Probably the fourth column of the paper's Table 5 (unconfirmed): brackets without "*". */
export const modularBracketsNoMult = bracketsTask('modular_brackets_nomult', false);
export const BRACKETS_IDS = { PLUS, MINUS, TIMES, LP, RP, EQ, PAD, MASK };
