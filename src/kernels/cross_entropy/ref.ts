// Plain-TS softmax cross-entropy over rows (the reference and the no-addon fallback).
// N rows, V vocab. loss[n] = logsumexp(z[n,:]) − z[n, y[n]]; dz[n,:] = softmax(z[n,:]) − onehot(y[n]).

/** Fills `loss` and, when given, `dz` (softmax − onehot). Rows labelled `ignoreIndex` get 0 loss and 0 gradient. */
export function softmaxXentRef(z: ArrayLike<number>, y: ArrayLike<number>, loss: Float32Array | Float64Array,
  dz: Float32Array | Float64Array | null, rows: number, vocab: number, ignoreIndex = -100): void {
  for (let r = 0; r < rows; ++r) {
    const off = r * vocab;
    const label = y[r]!;
    if (label === ignoreIndex) {
      loss[r] = 0;
      if (dz) dz.fill(0, off, off + vocab);
      continue;
    }
    if (!(label >= 0 && label < vocab)) throw new RangeError(`cross-entropy: label ${label} at row ${r} is outside [0, ${vocab})`);
    let m = -Infinity;
    for (let j = 0; j < vocab; ++j) m = Math.max(m, z[off + j]!);
    let s = 0;
    for (let j = 0; j < vocab; ++j) s += Math.exp(z[off + j]! - m);
    loss[r] = Math.log(s) + m - z[off + label]!;
    if (dz) {
      for (let j = 0; j < vocab; ++j) dz[off + j] = Math.exp(z[off + j]! - m) / s;
      dz[off + label]! -= 1;
    }
  }
}

/**
 * Linear + cross-entropy, one row at a time in float64 (the test oracle of linear.ts; never holds more than
 * one row of V logits). x [N,D], w [V,D]: z[n,j] = Σ_d x[n,d]·w[j,d], loss[n] as softmaxXentRef. Returns
 * Σ_n loss[n]; fills rowLoss when given, and with gx/gw (overwritten) the gradient of scale · Σ_n loss[n]:
 * gx = scale · dZ · W, gw = scale · dZᵀ · X for dZ = softmax − onehot.
 */
export function linearXentRef(x: ArrayLike<number>, w: ArrayLike<number>, y: ArrayLike<number>, N: number, D: number, V: number,
  opts: { ignoreIndex?: number; scale?: number; rowLoss?: Float32Array | Float64Array; gx?: Float32Array | Float64Array; gw?: Float32Array | Float64Array } = {}): number {
  const ignoreIndex = opts.ignoreIndex ?? -100, scale = opts.scale ?? 1;
  const { rowLoss, gx, gw } = opts;
  gx?.fill(0);
  gw?.fill(0);
  const z = new Float64Array(V), dz = new Float64Array(V);
  const loss = new Float64Array(1);
  let total = 0;
  for (let n = 0; n < N; ++n) {
    const label = y[n]!;
    if (label !== ignoreIndex && !(label >= 0 && label < V)) throw new RangeError(`cross-entropy: label ${label} at row ${n} is outside [0, ${V})`);
    for (let j = 0; j < V; ++j) {
      let s = 0;
      for (let d = 0; d < D; ++d) s += x[n * D + d]! * w[j * D + d]!;
      z[j] = s;
    }
    softmaxXentRef(z, [label], loss, gx ? dz : null, 1, V, ignoreIndex);
    total += loss[0]!;
    if (rowLoss) rowLoss[n] = loss[0]!;
    if (!gx || !gw || label === ignoreIndex) continue;
    for (let j = 0; j < V; ++j) {
      const g = scale * dz[j]!;
      if (g === 0) continue;
      for (let d = 0; d < D; ++d) {
        gx[n * D + d]! += g * w[j * D + d]!;
        gw[j * D + d]! += g * x[n * D + d]!;
      }
    }
  }
  return total;
}
