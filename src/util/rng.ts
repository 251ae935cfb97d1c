// The project's seeded random generators, in one place:
//   Xoshiro128 — xoshiro128** with its whole state exposed as four uint32, the form trainer_state.json stores
//     (docs/checkpoint-format.md §11), so a resumed run continues the same stream. Seeding (framework-defined):
//     splitmix32 of the seed. Used for initialisation, sampling, training and the task generators.
//   mulberry32 — a tiny one-word generator for data shuffles and test inputs.

/** splitmix32's output mix. */
export function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** Four words from splitmix32 started at `x`: the state of a freshly seeded Xoshiro128. */
export function splitmixState(x: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 4; ++i) {
    x = (x + 0x9e3779b9) >>> 0;
    out.push(mix32(x));
  }
  if (!out.some((v) => v !== 0)) out[0] = 1; // xoshiro's all-zero state is a fixed point
  return out;
}

/** mulberry32: uniforms in [0, 1) from one 32-bit seed. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
    this.s = Uint32Array.from(splitmixState(this.seed));
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

/** xoshiro128** uniforms in [0, 1) seeded through splitmix32 (the same stream as `new Xoshiro128(seed)`). */
export function seededUniform(seed: number): () => number {
  const r = new Xoshiro128(seed);
  return () => r.next();
}

/** Fills `out` with normal values of standard deviation `std` (Box–Muller, two values per pair of uniforms). */
export function fillNormal<T extends Float32Array | Float64Array>(out: T, uniform: () => number, std = 1): T {
  const n = out.length;
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(uniform(), 1e-12), v = uniform();
    const m = Math.sqrt(-2 * Math.log(u)) * std;
    out[i] = m * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = m * Math.sin(2 * Math.PI * v);
  }
  return out;
}
