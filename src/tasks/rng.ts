// Counter-based seeding for the task generators: example `index` of split `stream` under `seed` gets its own
// xoshiro128** stream, so every example is a pure function of (seed, stream, index) — no generator state to
// carry, any example can be regenerated alone, and train/test never share a stream.

/** Streams kept apart so a test set never overlaps the training stream of the same seed. */
export const STREAMS = { train: 1, valid: 2, test: 3 } as const;
export type Split = keyof typeof STREAMS;

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

export class TaskRng {
  private s: Uint32Array;

  constructor(seed: number, stream: number, index: number) {
    if (!Number.isInteger(index) || index < 0) throw new Error(`TaskRng: example index must be a non-negative integer, got ${index}`);
    // Fold seed, stream and the index (up to 2^53) into the 128-bit state through splitmix-style steps.
    let x = mix32((seed >>> 0) ^ 0x6a09e667);
    x = mix32(x ^ Math.imul(stream + 1, 0x9e3779b9));
    x = mix32(x ^ (index >>> 0));
    x = mix32(x ^ Math.floor(index / 2 ** 32) ^ 0xbb67ae85);
    const split = () => {
      x = (x + 0x9e3779b9) >>> 0;
      return mix32(x);
    };
    this.s = Uint32Array.from([split(), split(), split(), split()]);
    if (this.s.every((v) => v === 0)) this.s[0] = 1;
  }

  nextU32(): number {
    const s = this.s;
    const rotl = (v: number, k: number) => ((v << k) | (v >>> (32 - k))) >>> 0;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
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
