// S5 word problems (docs/paper-notes.md §4.6): the 120 permutations of {0..4}, in lexicographic order of their
// one-line notation ("01234" = id 0 = identity, …, "43210" = 119), plus PAD = 120. Inputs x_1..x_n; the
// label at every position is the prefix product y_i = x_1 · … · x_i, applying x_1 first:
// y_i[j] = x_i[y_{i−1}[j]]. Variants: 's5' draws x from all of S5; 's5_swaps' from the identity and the
// 10 transpositions (the targets still range over all of S5).
import type { TaskRng } from './rng.ts';
import type { Task, TaskName } from './task.ts';
import { Vocab } from './vocab.ts';

function permutations(items: number[]): number[][] {
  if (items.length <= 1) return [items];
  const out: number[][] = [];
  for (let i = 0; i < items.length; ++i) {
    for (const rest of permutations([...items.slice(0, i), ...items.slice(i + 1)])) out.push([items[i]!, ...rest]);
  }
  return out;
}

/** The 120 elements in id order, each as its one-line notation p (p[j] = image of j). */
export const S5_ELEMENTS: readonly (readonly number[])[] = permutations([0, 1, 2, 3, 4]);
const key = (p: readonly number[]) => p.join('');
const INDEX = new Map(S5_ELEMENTS.map((p, i) => [key(p), i]));

/** "a then b": (a·b)[j] = b[a[j]]. */
export function composePerm(a: readonly number[], b: readonly number[]): number[] {
  return a.map((x) => b[x]!);
}

export function permId(p: readonly number[]): number {
  const i = INDEX.get(key(p));
  if (i === undefined) throw new Error(`not a permutation of 0..4: ${JSON.stringify(p)}`);
  return i;
}

/** MUL[a·120 + b] = id of (a then b). */
export const S5_MUL: Int32Array = (() => {
  const t = new Int32Array(120 * 120);
  for (let a = 0; a < 120; ++a) for (let b = 0; b < 120; ++b) t[a * 120 + b] = permId(composePerm(S5_ELEMENTS[a]!, S5_ELEMENTS[b]!));
  return t;
})();

/** Ids of the identity and the 10 transpositions. */
export const S5_SWAPS: readonly number[] = S5_ELEMENTS.map((p, i) => [p, i] as const)
  .filter(([p]) => p.filter((x, j) => x !== j).length <= 2).map(([, i]) => i);

const PAD = 120;

function s5Task(name: TaskName, generators: readonly number[]): Task {
  return {
    name,
    description: `S5 word problem, prefix product at every position; inputs ${generators.length === 120 ? 'all of S5' : 'identity + 10 swaps'} (symbols: one-line permutations "01234".."43210", <pad>)`,
    kind: 'sequence',
    vocab: new Vocab([...S5_ELEMENTS.map(key), '<pad>']),
    padId: PAD,
    maskId: PAD,
    answerIds: S5_ELEMENTS.map((_, i) => i),
    chance: 1 / 120,
    lengths: { train: [3, 40], test: [40, 256] },
    sampleLength(rng: TaskRng, min: number, max: number): number {
      return rng.int(Math.max(1, min), max);
    },
    generate(rng: TaskRng, length: number) {
      const tokens = new Int32Array(length);
      const targets = new Int32Array(length);
      let y = 0;
      for (let i = 0; i < length; ++i) {
        const x = generators[rng.int(0, generators.length - 1)]!;
        tokens[i] = x;
        y = S5_MUL[y * 120 + x]!;
        targets[i] = y;
      }
      return { tokens, answerIndex: -1, targets };
    },
  };
}

export const s5 = s5Task('s5', S5_ELEMENTS.map((_, i) => i));
export const s5Swaps = s5Task('s5_swaps', S5_SWAPS);
