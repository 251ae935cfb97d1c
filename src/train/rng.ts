// The trainer's random generator: xoshiro128** with its whole state exposed as four uint32, the form
// trainer_state.json stores (checkpoint-format.md §11), so a resumed run continues the same stream.
// Seeding (framework-defined): splitmix32 of the recipe's seed.

export class Xoshiro128 {
  private s: Uint32Array;
  readonly seed: number;

  constructor(seed: number, state?: readonly number[]) {
    this.seed = seed >>> 0;
    if (state) {
      if (state.length !== 4 || state.some((x) => !Number.isInteger(x) || x < 0 || x >= 2 ** 32)) throw new Error(`rng state must be 4 uint32, got ${JSON.stringify(state)}`);
      if (state.every((x) => x === 0)) throw new Error('rng state must not be all zeros');
      this.s = Uint32Array.from(state);
      return;
    }
    let x = this.seed;
    const split = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s = Uint32Array.from([split(), split(), split(), split()]);
  }

  /** The next uint32. */
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
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** trainer_state.json["rng"]. */
  toJSON(): { algorithm: 'xoshiro128**'; seed: number; state: number[] } {
    return { algorithm: 'xoshiro128**', seed: this.seed, state: Array.from(this.s) };
  }

  static fromJSON(j: { algorithm: string; seed: number; state: number[] }): Xoshiro128 {
    if (j.algorithm !== 'xoshiro128**') throw new Error(`rng algorithm '${j.algorithm}' is not supported (expected xoshiro128**)`);
    return new Xoshiro128(j.seed, j.state);
  }
}
