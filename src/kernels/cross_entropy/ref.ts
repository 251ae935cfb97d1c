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
