// Counter-based seeding for the task generators: example `index` of split `stream` under `seed` gets its own
// xoshiro128** stream, so every example is a pure function of (seed, stream, index) — no generator state to
// carry, any example can be regenerated alone, and train/test never share a stream.
import { mix32, splitmixState, Xoshiro128 } from '../util/rng.ts';

/** Streams kept apart so a test set never overlaps the training stream of the same seed. */
export const STREAMS = { train: 1, valid: 2, test: 3, bucketOrder: 4 } as const;
export type Split = Exclude<keyof typeof STREAMS, 'bucketOrder'>;

export class TaskRng {
  private r: Xoshiro128;

  constructor(seed: number, stream: number, index: number) {
    if (!Number.isInteger(index) || index < 0) throw new Error(`TaskRng: example index must be a non-negative integer, got ${index}`);
    // Fold seed, stream and the index (up to 2^53) into the 128-bit state through splitmix-style steps.
    let x = mix32((seed >>> 0) ^ 0x6a09e667);
    x = mix32(x ^ Math.imul(stream + 1, 0x9e3779b9));
    x = mix32(x ^ (index >>> 0));
    x = mix32(x ^ Math.floor(index / 2 ** 32) ^ 0xbb67ae85);
    this.r = new Xoshiro128(seed, splitmixState(x));
  }

  nextU32(): number {
    return this.r.nextU32();
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    if (hi < lo) throw new Error(`TaskRng.int: empty range [${lo}, ${hi}]`);
    return lo + Math.floor(this.uniform() * (hi - lo + 1));
  }
}
