// Selective scan: hand cases, the reference backward against float64 finite differences, every variant
// against the float64 reference (forward and all nine gradients through tf.grads), the flag-off
// bit-for-bit check and the range property of Ā. Regimes are named by the flag-on Ā they give:
// near −1 (ΔA ≈ −12), near 0 (ΔA ≈ −ln 2) and near 1 (ΔA ≈ −1e−4).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, nativeFn } from '../../backend/index.ts';
import { assertClose, maxAbsDiff, randn, relRms } from '../../testing/assert.ts';
import { type SelectiveScanVariant, selectiveScan } from './index.ts';
import { mambaDecay } from '../eig.ts';
import { type ScanArrays, type ScanDims, type ScanFlags, selectiveScanBackwardRef, selectiveScanRef, softplus } from './ref.ts';
import { selectiveScanFusedTs } from './fused_ts.ts';
import { tidyData } from '../../testing/tf.ts';

before(async () => {
  await initBackend();
});

const hasNative = () => nativeFn('selectiveScanFwd') !== null;
const variants = (): SelectiveScanVariant[] => (hasNative() ? ['reference', 'fused_ts', 'native'] : ['reference', 'fused_ts']);

type Regime = 'near-1' | 'near0' | 'near1';
/** Pre-softplus delta centre giving Δ ≈ 12, ln 2 and 1e−4 with |A| ≈ 1. */
const DELTA_PRE: Record<Regime, number> = { 'near-1': 12, near0: Math.log(Math.expm1(Math.LN2)), near1: Math.log(Math.expm1(1e-4)) };

const f32 = (a: Float64Array) => Float32Array.from(a);

/** Random float32-representable inputs (all optional ones present unless `bare`). */
function makeCase(dims: ScanDims, regime: Regime, seed: number, bare = false): ScanArrays {
  const { batch, T, D, N } = dims;
  const r = (n: number, s: number, scale = 1) => f32(randn(n, seed * 100 + s, scale));
  return {
    u: r(batch * T * D, 1),
    delta: r(batch * T * D, 2, 0.3).map((v) => v + DELTA_PRE[regime]),
    A: r(D * N, 3, 0.2).map((v) => -Math.exp(v)),
    B: r(batch * T * N, 4),
    C: r(batch * T * N, 5),
    Dskip: bare ? null : r(D, 6),
    z: bare ? null : r(batch * T * D, 7),
    deltaBias: bare ? null : r(D, 8, 0.1),
    h0: bare ? null : r(batch * D * N, 9),
  };
}

const dimsOf = (s: string): ScanDims => {
  const m = /B(\d+)-T(\d+)-D(\d+)-N(\d+)/.exec(s)!;
  return { batch: +m[1]!, T: +m[2]!, D: +m[3]!, N: +m[4]! };
};

const GRAD_NAMES = ['du', 'ddelta', 'dA', 'dB', 'dC', 'dDskip', 'dz', 'ddeltaBias', 'dh0'] as const;

/** Runs one variant through the TF.js op: y, hT and the gradients of Σ dy·y + Σ dhT·hT for every input. */
function runOp(x: ScanArrays, dims: ScanDims, flags: ScanFlags, variant: SelectiveScanVariant, dy: Float32Array, dhT: Float32Array) {
  const { batch, T, D, N } = dims;
  return tidyData(() => {
    const t = (a: ArrayLike<number> | null | undefined, shape: number[]) => (a ? tf.tensor(Float32Array.from(a), shape) : null);
    const ins = [t(x.u, [batch, T, D]), t(x.delta, [batch, T, D]), t(x.A, [D, N]), t(x.B, [batch, T, N]), t(x.C, [batch, T, N]),
      t(x.Dskip, [D]), t(x.z, [batch, T, D]), t(x.deltaBias, [D]), t(x.h0, [batch, D, N])];
    const present = ins.map((v, i) => [v, i] as const).filter(([v]) => v !== null) as [tf.Tensor, number][];
    const dyT = tf.tensor(dy, [batch, T, D]), dhTT = tf.tensor(dhT, [batch, D, N]);
    const call = (...xs: tf.Tensor[]) => {
      const full: (tf.Tensor | null)[] = ins.map(() => null);
      present.forEach(([, i], k) => (full[i] = xs[k]!));
      return selectiveScan(full[0] as tf.Tensor3D, full[1] as tf.Tensor3D, full[2] as tf.Tensor2D, full[3] as tf.Tensor3D, full[4] as tf.Tensor3D, {
        D: (full[5] ?? undefined) as tf.Tensor1D | undefined, z: (full[6] ?? undefined) as tf.Tensor3D | undefined,
        deltaBias: (full[7] ?? undefined) as tf.Tensor1D | undefined, initialState: (full[8] ?? undefined) as tf.Tensor3D | undefined,
        deltaSoftplus: flags.deltaSoftplus, allowNegEigval: flags.allowNegEigval, variant,
      });
    };
    const out = call(...present.map(([v]) => v));
    const grads = tf.grads((...xs: tf.Tensor[]) => {
      const o = call(...xs);
      return tf.add(tf.sum(tf.mul(o.y, dyT)), tf.sum(tf.mul(o.finalState, dhTT)));
    })(present.map(([v]) => v));
    const g: Record<string, Float32Array | null> = {};
    GRAD_NAMES.forEach((n) => (g[n] = null));
    present.forEach(([, i], k) => (g[GRAD_NAMES[i]!] = grads[k]!.dataSync() as Float32Array));
    return { y: out.y.dataSync() as Float32Array, hT: out.finalState.dataSync() as Float32Array, g };
  });
}

test('T = 1 closed form: h1 = Ā h0 + Δ B u, y = (C·h1 + D u)·silu(z), both ranges, every variant', () => {
  const dims = { batch: 1, T: 1, D: 3, N: 2 };
  const x = makeCase(dims, 'near0', 1);
  for (const neg of [false, true]) {
    const flags = { deltaSoftplus: true, allowNegEigval: neg };
    const y = new Float64Array(3), h = new Float64Array(6);
    for (let d = 0; d < 3; ++d) {
      const dt = Math.log1p(Math.exp(x.delta[d]! + x.deltaBias![d]!));
      let acc = 0;
      for (let n = 0; n < 2; ++n) {
        const e = Math.exp(dt * x.A[d * 2 + n]!);
        h[d * 2 + n] = (neg ? 2 * e - 1 : e) * x.h0![d * 2 + n]! + dt * x.B[n]! * x.u[d]!;
        acc += x.C[n]! * h[d * 2 + n]!;
      }
      const z = x.z![d]!;
      y[d] = (acc + x.Dskip![d]! * x.u[d]!) * (z / (1 + Math.exp(-z)));
    }
    const r = selectiveScanRef(x, dims, flags, true);
    assertClose(`ref y neg=${neg}`, r.y, y, 1e-14);
    assertClose(`ref hT neg=${neg}`, r.hT, h, 1e-14);
    for (const v of variants()) {
      const o = runOp(x, dims, flags, v, new Float32Array(3), new Float32Array(6));
      assertClose(`${v} y neg=${neg}`, o.y, y, 1e-6);
      assertClose(`${v} hT neg=${neg}`, o.hT, h, 1e-6);
    }
  }
});

test('Ā forced to 1 (A = 0, Δ = 1, no softplus) makes the scan a cumulative sum, for both ranges', () => {
  const dims = { batch: 1, T: 9, D: 2, N: 3 };
  const x = { ...makeCase(dims, 'near0', 2, true), A: new Float32Array(6), delta: new Float32Array(18).fill(1) };
  for (const neg of [false, true]) {
    const r = selectiveScanRef(x, dims, { deltaSoftplus: false, allowNegEigval: neg }, true);
    const cum = new Float64Array(6);
    for (let t = 0; t < 9; ++t) {
      for (let d = 0; d < 2; ++d) {
        let acc = 0;
        for (let n = 0; n < 3; ++n) {
          cum[d * 3 + n] += x.B[t * 3 + n]! * x.u[t * 2 + d]!;
          acc += x.C[t * 3 + n]! * cum[d * 3 + n]!;
        }
        assert.ok(Math.abs(r.y[t * 2 + d]! - acc) < 1e-12, `t=${t} d=${d}: ${r.y[t * 2 + d]} vs ${acc}`);
      }
    }
  }
});

test('Ā = −1 flips the state every step exactly (parity); under [0,1] the state never alternates', () => {
  const T = 1001, dims = { batch: 1, T, D: 1, N: 1 };
  // One input at t = 0, then Δ·A = −30: 2·exp(−30) − 1 rounds to −1 in float32.
  const u = new Float32Array(T), B = new Float32Array(T).fill(1);
  u[0] = 1;
  const x: ScanArrays = { u, delta: new Float32Array(T).fill(30), A: Float32Array.of(-1), B, C: new Float32Array(T).fill(1) };
  for (const v of variants()) {
    const on = runOp(x, dims, { deltaSoftplus: false, allowNegEigval: true }, v, new Float32Array(T), new Float32Array(1));
    for (let t = 0; t < T; ++t) assert.equal(on.y[t], t % 2 === 0 ? 30 : -30, `${v} t=${t}`);
    const off = runOp(x, dims, { deltaSoftplus: false, allowNegEigval: false }, v, new Float32Array(T), new Float32Array(1));
    for (let t = 0; t < T; ++t) assert.ok(off.y[t]! >= 0, `${v} [0,1] alternated at t=${t}`);
  }
});

test('reference backward matches float64 central finite differences for every input (Ā near −1, 0, 1)', () => {
  const dims = { batch: 2, T: 7, D: 4, N: 3 };
  for (const regime of ['near-1', 'near0', 'near1'] as Regime[]) {
    for (const neg of [false, true]) {
      const flags = { deltaSoftplus: true, allowNegEigval: neg };
      const x = makeCase(dims, regime, 3);
      const x64: Record<string, Float64Array> = {};
      for (const [k, v] of Object.entries(x)) x64[k] = Float64Array.from(v as Float32Array);
      const dy = randn(dims.batch * dims.T * dims.D, 11), dhT = randn(dims.batch * dims.D * dims.N, 12);
      const loss = (xx: ScanArrays) => {
        const r = selectiveScanRef(xx, dims, flags, true);
        let s = 0;
        for (let i = 0; i < r.y.length; ++i) s += r.y[i]! * dy[i]!;
        for (let i = 0; i < r.hT.length; ++i) s += r.hT[i]! * dhT[i]!;
        return s;
      };
      const g = selectiveScanBackwardRef(x64 as unknown as ScanArrays, dims, flags, dy, dhT, true);
      const L0 = loss(x64 as unknown as ScanArrays);
      const pairs = [['u', 'du'], ['delta', 'ddelta'], ['A', 'dA'], ['B', 'dB'], ['C', 'dC'], ['Dskip', 'dDskip'], ['z', 'dz'],
        ['deltaBias', 'ddeltaBias'], ['h0', 'dh0']] as const;
      for (const [inp, gname] of pairs) {
        const base = x64[inp]!;
        const fd = new Float64Array(base.length);
        for (let i = 0; i < base.length; ++i) {
          const h = 1e-5 * Math.max(1, Math.abs(base[i]!));
          const p = Float64Array.from(base), m = Float64Array.from(base);
          p[i]! += h;
          m[i]! -= h;
          fd[i] = (loss({ ...x64, [inp]: p } as unknown as ScanArrays) - loss({ ...x64, [inp]: m } as unknown as ScanArrays)) / (2 * h);
        }
        // Central differences carry an absolute error of about ε·|L|/h; inputs whose whole gradient is
        // that small (dh0 when Ā ≈ 0) are checked against that floor instead of relatively.
        if (maxAbsDiff(g[gname]!, fd) > 1e-9 * Math.max(1, Math.abs(L0))) assertClose(`${regime} neg=${neg} ${gname}`, g[gname]!, fd, 1e-6);
      }
    }
  }
});

for (const shape of ['B1-T63-D32-N16', 'B2-T100-D48-N16']) {
  for (const regime of ['near-1', 'near0', 'near1'] as Regime[]) {
    test(`every variant matches the float64 reference, forward and all gradients, ${shape}, Ā ${regime}`, () => {
      const dims = dimsOf(shape);
      const x = makeCase(dims, regime, 5);
      const dy = f32(randn(dims.batch * dims.T * dims.D, 21)), dhT = f32(randn(dims.batch * dims.D * dims.N, 22));
      for (const neg of [false, true]) {
        const flags = { deltaSoftplus: true, allowNegEigval: neg };
        const r = selectiveScanRef(x, dims, flags, true);
        const g = selectiveScanBackwardRef(x, dims, flags, dy, dhT, true);
        for (const v of variants()) {
          const o = runOp(x, dims, flags, v, dy, dhT);
          const tag = `${v} neg=${neg}`;
          assertClose(`${tag} y`, o.y, r.y, 1e-5);
          assertClose(`${tag} finalState`, o.hT, r.hT, 1e-5);
          for (const n of GRAD_NAMES) assertClose(`${tag} ${n}`, o.g[n]!, g[n]!, 1e-5);
        }
      }
    });
  }
}

test('optional inputs absent (no D, z, Δ bias, initial state, softplus): variants match the reference', () => {
  const dims = dimsOf('B2-T33-D20-N5');
  const x = makeCase(dims, 'near0', 7, true);
  x.delta = (x.delta as Float32Array).map((v) => Math.abs(v) + 0.1);
  const dy = f32(randn(dims.batch * dims.T * dims.D, 31)), dhT = f32(randn(dims.batch * dims.D * dims.N, 32));
  for (const neg of [false, true]) {
    const flags = { deltaSoftplus: false, allowNegEigval: neg };
    const r = selectiveScanRef(x, dims, flags, true);
    const g = selectiveScanBackwardRef(x, dims, flags, dy, dhT, true);
    for (const v of variants()) {
      const o = runOp(x, dims, flags, v, dy, dhT);
      assertClose(`${v} y`, o.y, r.y, 1e-5);
      for (const n of ['du', 'ddelta', 'dA', 'dB', 'dC'] as const) assertClose(`${v} ${n}`, o.g[n]!, g[n]!, 1e-5);
      for (const n of ['dDskip', 'dz', 'ddeltaBias', 'dh0'] as const) assert.equal(o.g[n], null);
    }
  }
});

test('flag off reproduces the plain exp(ΔA) computation bit for bit (reference and fused_ts)', () => {
  // A plain Mamba scan with no trace of the flag: Ā = Math.exp(ΔA), float32 state, the kernels' operation order.
  const dims = dimsOf('B2-T50-D6-N4');
  const { batch, T, D, N } = dims;
  const x = makeCase(dims, 'near0', 9);
  x.deltaBias = null;
  x.delta = (x.delta as Float32Array).map((v) => Math.abs(v) + 0.05);
  const plainY = new Float32Array(batch * T * D), plainH = new Float32Array(batch * D * N);
  const h = new Float32Array(N);
  for (let b = 0; b < batch; ++b) {
    for (let d = 0; d < D; ++d) {
      for (let n = 0; n < N; ++n) h[n] = x.h0![(b * D + d) * N + n]!;
      for (let t = 0; t < T; ++t) {
        const i = (b * T + t) * D + d, dt = x.delta[i]!, ut = x.u[i]!;
        let acc = 0;
        for (let n = 0; n < N; ++n) {
          h[n] = Math.exp(dt * x.A[d * N + n]!) * h[n]! + dt * x.B[(b * T + t) * N + n]! * ut;
          acc += x.C[(b * T + t) * N + n]! * h[n]!;
        }
        const z = x.z![i]!;
        plainY[i] = (acc + x.Dskip![d]! * ut) * (z / (1 + Math.exp(-z)));
      }
      plainH.set(h, (b * D + d) * N);
    }
  }
  const flags = { deltaSoftplus: false, allowNegEigval: false };
  const r = selectiveScanRef(x, dims, flags, false);
  assert.deepEqual(r.y, plainY);
  assert.deepEqual(r.hT, plainH);
  const y = new Float32Array(batch * T * D), hT = new Float32Array(batch * D * N);
  selectiveScanFusedTs(x, dims, flags, y, hT);
  assert.deepEqual(y, plainY);
  assert.deepEqual(hT, plainH);
  // The flag changes the result (so the comparison above could fail).
  const on = selectiveScanRef(x, dims, { ...flags, allowNegEigval: true }, false);
  assert.ok(relRms(on.y, plainY) > 1e-2);
});

test('native flag-off agrees with the TS fallbacks, and the flag only changes Ā (input term unchanged)', { skip: !hasNative() }, () => {
  const dims = dimsOf('B2-T40-D19-N16');
  const x = makeCase(dims, 'near0', 10);
  const zeros = [new Float32Array(dims.batch * dims.T * dims.D), new Float32Array(dims.batch * dims.D * dims.N)] as const;
  const flags = { deltaSoftplus: true, allowNegEigval: false };
  const nat = runOp(x, dims, flags, 'native', ...zeros), ts = runOp(x, dims, flags, 'fused_ts', ...zeros);
  assertClose('native vs fused_ts y', nat.y, ts.y, 1e-6);
  // With A = 0 the map gives Ā = 1 either way, so both ranges must agree exactly: only Ā differs.
  const flat = { ...x, A: new Float32Array(dims.D * dims.N) };
  const a = runOp(flat, dims, flags, 'native', ...zeros), b = runOp(flat, dims, { ...flags, allowNegEigval: true }, 'native', ...zeros);
  assert.deepEqual(a.y, b.y);
});

test('property: Ā stays in (0,1) with the flag off and in (−1,1) with it on; the state stays bounded', () => {
  for (const dt of [1e-6, 1e-3, 0.1, 1, 10, 50]) {
    for (const A of [-1e-3, -0.5, -1, -16, -100]) {
      const off = mambaDecay(dt * A, false), on = mambaDecay(dt * A, true);
      assert.equal(on, 2 * off - 1);
      // Open intervals where float64 can tell the value from the endpoint (e > 2^−53 and e < 1); beyond that
      // the map rounds onto −1 or 1, which the spec allows (no clamping), but never outside [−1, 1].
      if (dt * A > -36 && dt * A < -1e-15) {
        assert.ok(off > 0 && off < 1, `exp(${dt}·${A}) = ${off}`);
        assert.ok(on > -1 && on < 1, `2·exp(${dt}·${A}) − 1 = ${on}`);
      } else {
        assert.ok(off >= 0 && off <= 1 && on >= -1 && on <= 1, `ΔA = ${dt * A}: ${off}, ${on}`);
      }
    }
  }
  // Non-expansive: |h_T| ≤ |h_0| + Σ_t |Δ_t B_t u_t| elementwise, for every variant and regime.
  const dims = dimsOf('B1-T200-D8-N4');
  for (const regime of ['near-1', 'near0', 'near1'] as Regime[]) {
    const x = makeCase(dims, regime, 12);
    for (const v of variants()) {
      const o = runOp(x, dims, { deltaSoftplus: true, allowNegEigval: true }, v, new Float32Array(1600), new Float32Array(32));
      for (let d = 0; d < 8; ++d) {
        for (let n = 0; n < 4; ++n) {
          let bound = Math.abs(x.h0![d * 4 + n]!);
          for (let t = 0; t < 200; ++t) bound += Math.abs(softplus(x.delta[t * 8 + d]! + x.deltaBias![d]!) * x.B[t * 4 + n]! * x.u[t * 8 + d]!);
          assert.ok(Math.abs(o.hT[d * 4 + n]!) <= bound * (1 + 1e-5), `${v} ${regime} |h| ${o.hT[d * 4 + n]} > ${bound}`);
        }
      }
    }
  }
});

test('errors name the bad tensor', () => {
  const u = tf.zeros([1, 4, 3]) as tf.Tensor3D, A = tf.zeros([3, 2]) as tf.Tensor2D, B = tf.zeros([1, 4, 2]) as tf.Tensor3D;
  assert.throws(() => selectiveScan(u, u, A, B, tf.zeros([1, 4, 3]) as tf.Tensor3D, { allowNegEigval: true }), /C must have shape \[1,4,2\]/);
  assert.throws(() => selectiveScan(u, u, A, B, B, { allowNegEigval: true, D: tf.zeros([2]) as tf.Tensor1D }), /D must have shape \[3\]/);
  tf.dispose([u, A, B]);
});

test('no tensor leaks: forward outside any scope, and forward + tf.grads inside tidy', () => {
  const t = (shape: number[], seed: number) => tf.tensor(f32(randn(shape.reduce((a, b) => a * b, 1), seed)), shape);
  const u = t([1, 5, 3], 1) as tf.Tensor3D, A = tf.neg(tf.exp(t([3, 2], 2))) as tf.Tensor2D, B = t([1, 5, 2], 3) as tf.Tensor3D;
  const before = tf.memory().numTensors;
  const o = selectiveScan(u, u, A, B, B, { allowNegEigval: true, deltaSoftplus: true });
  assert.equal(tf.memory().numTensors, before + 2);
  tf.dispose([o.y, o.finalState]);
  tf.tidy(() => {
    tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(selectiveScan(a as tf.Tensor3D, a as tf.Tensor3D, A, b as tf.Tensor3D, b as tf.Tensor3D, { allowNegEigval: true }).y))([u, B]);
  });
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([u, A, B]);
});
