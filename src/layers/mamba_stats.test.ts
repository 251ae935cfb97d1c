// The Ā telemetry from Δ and A alone equals materialising Ā over every (b, t, d, n).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomArray } from '../testing/assert.ts';
import { abarStats } from './mamba_stats.ts';

function direct(delta: Float32Array, A: Float32Array, Di: number, N: number, neg: boolean): [number, number, number] {
  let lo = Infinity, hi = -Infinity, count = 0;
  const rows = delta.length / Di;
  for (let r = 0; r < rows; ++r) for (let d = 0; d < Di; ++d) for (let n = 0; n < N; ++n) {
    const e = Math.exp(delta[r * Di + d]! * A[d * N + n]!);
    const abar = neg ? 2 * e - 1 : e;
    lo = Math.min(lo, abar);
    hi = Math.max(hi, abar);
    if (abar < 0) count++;
  }
  return [count / (rows * Di * N), lo, hi];
}

test('fraction of Ā < 0, min and max match the direct computation, flag on and off', () => {
  const rows = 37, Di = 24, N = 16;
  // Δ spread over (0.001, 3) and A = −exp(A_log) with A_log over (−2, 2.5): Ā covers (−1, 1) with the flag.
  const delta = randomArray(rows * Di, 1, 0.001, 3);
  const A = randomArray(Di * N, 2, -2, 2.5).map((v) => -Math.exp(v));
  for (const neg of [false, true]) {
    const got = abarStats(delta, A, Di, N, neg);
    const want = direct(delta, A, Di, N, neg);
    assert.equal(got[0], want[0], `fraction (flag ${neg})`);
    assert.ok(Math.abs(got[1] - want[1]) <= 1e-12 && Math.abs(got[2] - want[2]) <= 1e-12, `extremes ${got} vs ${want}`);
    if (neg) assert.ok(want[0] > 0.05 && want[0] < 0.95, 'the case exercises both signs');
    else assert.equal(got[0], 0);
  }
});
