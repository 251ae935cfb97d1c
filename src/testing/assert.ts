// Numerical assertions shared by the tests: relative RMS error (fla's assert_close) with a report that
// names the tensor, its max abs difference and the first differing values (llm.c's habit).
import assert from 'node:assert/strict';
import { fillNormal, mulberry32 } from '../util/rng.ts';

type Num = ArrayLike<number>;

/** sqrt(Σ(a−b)²) / sqrt(Σb²), with b the reference; 0 when both are all zeros. */
export function relRms(actual: Num, expected: Num): number {
  assert.equal(actual.length, expected.length, `length ${actual.length} != ${expected.length}`);
  let num = 0, den = 0;
  for (let i = 0; i < actual.length; ++i) {
    const d = actual[i]! - expected[i]!;
    num += d * d;
    den += expected[i]! * expected[i]!;
  }
  if (den === 0) return Math.sqrt(num);
  return Math.sqrt(num / den);
}

export function maxAbsDiff(actual: Num, expected: Num): number {
  let m = 0;
  for (let i = 0; i < actual.length; ++i) m = Math.max(m, Math.abs(actual[i]! - expected[i]!));
  return m;
}

/** Asserts relRms(actual, expected) ≤ tol and no NaN/Inf appears where the reference is finite. */
export function assertClose(name: string, actual: Num, expected: Num, tol: number): void {
  for (let i = 0; i < actual.length; ++i) {
    if (Number.isFinite(expected[i]!) && !Number.isFinite(actual[i]!)) {
      assert.fail(`${name}: non-finite value ${actual[i]} at ${i} (expected ${expected[i]})`);
    }
  }
  const err = relRms(actual, expected);
  if (!(err <= tol)) {
    const firsts: string[] = [];
    for (let i = 0; i < actual.length && firsts.length < 5; ++i) {
      if (Math.abs(actual[i]! - expected[i]!) > tol * (Math.abs(expected[i]!) + 1e-6)) firsts.push(`[${i}] ${actual[i]} vs ${expected[i]}`);
    }
    assert.fail(`${name}: relative RMS ${err.toExponential(3)} > ${tol} (max abs diff ${maxAbsDiff(actual, expected).toExponential(3)}); first: ${firsts.join(', ')}`);
  }
}

/** A seeded PRNG (mulberry32) for reproducible test inputs. */
export const rng = mulberry32;

/** Uniform values in [lo, hi) from a seed. */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; ++i) out[i] = lo + (hi - lo) * r();
  return out;
}

/** Standard normal values (Box–Muller) from a seed, as float64. */
export function randn(n: number, seed: number, scale = 1): Float64Array {
  return fillNormal(new Float64Array(n), rng(seed), scale);
}
