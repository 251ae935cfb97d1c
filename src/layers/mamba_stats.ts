// Telemetry of Mamba's transition Ā = exp(Δ·A) (or 2·exp(Δ·A) − 1 with allow_neg_eigval) over every
// (b, t, d, n): the share of Ā < 0 and its extremes. Materialising Ā is B·T·Di·N values per layer (25M for
// the small recipe) and, inside the gradient tape, kept alive for the backward; instead this reads Δ [B,T,Di]
// and A [Di,N] and uses the map's monotonicity (Δ > 0, A < 0):
//   min Ā = f(min over (b,t,d) of Δ·min_n A[d,n]),   max Ā = f(max over (b,t,d) of Δ·max_n A[d,n]),
//   Ā < 0  ⟺  2·exp(Δ·A) < 1  ⟺  A[d,n] < −ln 2 / Δ   (never without the flag),
// counted with A[d,:] sorted, by binary search. B batch, T time, Di inner width, N state size.
import { mambaDecay, mambaNegativeBelow } from './kernels.ts';

/** [fraction of Ā < 0, min Ā, max Ā] from Δ (softplus already applied) [B·T, Di] and A [Di, N]. */
export function abarStats(delta: Float32Array, A: Float32Array, Di: number, N: number, allowNegEigval: boolean): [number, number, number] {
  const below = mambaNegativeBelow(allowNegEigval); // −∞ without the flag
  const sorted = new Float64Array(Di * N);
  for (let d = 0; d < Di; ++d) {
    const row = Array.from(A.subarray(d * N, (d + 1) * N)).sort((a, b) => a - b);
    sorted.set(row, d * N);
  }
  let lo = Infinity, hi = -Infinity, negative = 0;
  const rows = delta.length / Di;
  for (let r = 0; r < rows; ++r) {
    for (let d = 0; d < Di; ++d) {
      const dt = delta[r * Di + d]!;
      const off = d * N;
      lo = Math.min(lo, dt * sorted[off]!);
      hi = Math.max(hi, dt * sorted[off + N - 1]!);
      if (below > -Infinity) {
        // Count of A[d,n] < c: first index whose value is ≥ c.
        const c = below / dt;
        let a = 0, b = N;
        while (a < b) {
          const m = (a + b) >> 1;
          if (sorted[off + m]! < c) a = m + 1;
          else b = m;
        }
        negative += a;
      }
    }
  }
  const total = rows * Di * N;
  return [total ? negative / total : 0, mambaDecay(lo, allowNegEigval), mambaDecay(hi, allowNegEigval)];
}
