// Parity (docs/paper-notes.md §4.2): vocabulary PAD/mask = 0, bit "0" = 1, bit "1" = 2. A sequence of length
// l holds l − 1 uniform bits and then the answer: the parity of the number of "1" bits, as a bit symbol.
import type { TaskRng } from './rng.ts';
import type { Task } from './task.ts';
import { Vocab } from './vocab.ts';

export const parity: Task = {
  name: 'parity',
  description: 'parity of the number of 1 bits (vocab: <pad> 0 1)',
  kind: 'answer',
  vocab: new Vocab(['<pad>', '0', '1']),
  padId: 0,
  maskId: 0,
  answerIds: [1, 2],
  chance: 1 / 2,
  lengths: { train: [3, 40], test: [40, 256] },
  sampleLength(rng: TaskRng, min: number, max: number): number {
    return rng.int(Math.max(2, min), max);
  },
  generate(rng: TaskRng, length: number) {
    const tokens = new Int32Array(length);
    let ones = 0;
    for (let i = 0; i < length - 1; ++i) {
      const bit = rng.nextU32() >>> 31;
      tokens[i] = 1 + bit;
      ones += bit;
    }
    tokens[length - 1] = 1 + (ones % 2);
    return { tokens, answerIndex: length - 1 };
  },
};
