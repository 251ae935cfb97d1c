// deltaRule tests in three layers (README.md §7): hand cases (T = 1 closed form, zero input, β = 2 reflection
// parity for 1e5 steps, no alternation under β ∈ (0,1)); the float64 reference backward against central finite
// differences; every variant (native, fused_ts, chunk 16/32/64) against the reference, forward and all
// gradients through tf.grads, on shapes that are not multiples of the chunk, β in (0,1) and (0,2).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, nativeFn } from '../../backend/index.ts';
import { assertClose, randomArray, relRms } from '../../testing/assert.ts';
import { deltaRule, type DeltaRuleVariant } from './index.ts';
import { deltaRuleRef, deltaRuleRefBackward, type DeltaRuleDims } from './ref.ts';
import type { ChunkSize } from './chunk.ts';

const hasNative = nativeFn('deltaRuleForward') !== null;

interface Case {
  q: Float32Array; k: Float32Array; v: Float32Array; beta: Float32Array; s0: Float32Array;
  dO: Float32Array; dST: Float32Array;
}

/** Random inputs with unit-norm keys; `nearParallel` makes every key a small perturbation of one direction. */
function makeCase(d: DeltaRuleDims, seed: number, betaLo: number, betaHi: number, nearParallel = false): Case {
  const { B, T, H, K, V } = d;
  const k = randomArray(B * T * H * K, seed + 1);
  if (nearParallel) {
    const base = randomArray(K, seed + 9);
    for (let i = 0; i < k.length; ++i) k[i] = base[i % K]! + 0.05 * k[i]!;
  }
  for (let r = 0; r < B * T * H; ++r) {
    let n = 0;
    for (let i = 0; i < K; ++i) n += k[r * K + i]! ** 2;
    n = Math.sqrt(n);
    for (let i = 0; i < K; ++i) k[r * K + i]! /= n;
  }
  return {
    q: randomArray(B * T * H * K, seed), k, v: randomArray(B * T * H * V, seed + 2),
    beta: randomArray(B * T * H, seed + 3, betaLo, betaHi), s0: randomArray(B * H * K * V, seed + 4, -0.5, 0.5),
    dO: randomArray(B * T * H * V, seed + 5), dST: randomArray(B * H * K * V, seed + 6),
  };
}

/** o, S_T and the gradients of Σ o⊙dO + Σ S_T⊙dST through tf.grads for one variant. */
function runVariant(d: DeltaRuleDims, c: Case, variant: DeltaRuleVariant, opts: { scale: number; chunkSize?: ChunkSize; withS0: boolean; checkpointEvery?: number }) {
  const { B, T, H, K, V } = d;
  return tf.tidy(() => {
    const xs = [tf.tensor4d(c.q, [B, T, H, K]), tf.tensor4d(c.k, [B, T, H, K]), tf.tensor4d(c.v, [B, T, H, V]), tf.tensor3d(c.beta, [B, T, H])];
    if (opts.withS0) xs.push(tf.tensor4d(c.s0, [B, H, K, V]));
    const dO = tf.tensor4d(c.dO, [B, T, H, V]), dST = tf.tensor4d(c.dST, [B, H, K, V]);
    const call = (x: tf.Tensor[]) => deltaRule(x[0] as tf.Tensor4D, x[1] as tf.Tensor4D, x[2] as tf.Tensor4D, x[3] as tf.Tensor3D, {
      scale: opts.scale, variant, chunkSize: opts.chunkSize, checkpointEvery: opts.checkpointEvery,
      initialState: opts.withS0 ? (x[4] as tf.Tensor4D) : undefined,
    });
    const { o, finalState } = call(xs);
    const grads = tf.grads((...x: tf.Tensor[]) => {
      const r = call(x);
      return tf.add(tf.sum(tf.mul(r.o, dO)), tf.sum(tf.mul(r.finalState, dST)));
    })(xs);
    return { o: o.dataSync() as Float32Array, sT: finalState.dataSync() as Float32Array, grads: grads.map((g) => g.dataSync() as Float32Array) };
  });
}

before(async () => {
  await initBackend({ warn: () => {} });
});

describe('delta_rule hand cases', () => {
  test('T = 1 matches the closed form S1 = (I − β k kᵀ) S0 + β k vᵀ, o = scale S1ᵀ q', () => {
    const d = { B: 1, T: 1, H: 1, K: 3, V: 2 };
    const c = makeCase(d, 11, 0, 2);
    const scale = 0.7;
    const { k, v, q, s0 } = c, b = c.beta[0]!;
    const S1 = new Float64Array(6), o = new Float64Array(2);
    for (let i = 0; i < 3; ++i) {
      for (let j = 0; j < 2; ++j) {
        let acc = b * k[i]! * v[j]!;
        for (let m = 0; m < 3; ++m) acc += ((i === m ? 1 : 0) - b * k[i]! * k[m]!) * s0[m * 2 + j]!;
        S1[i * 2 + j] = acc;
      }
    }
    for (let j = 0; j < 2; ++j) for (let i = 0; i < 3; ++i) o[j] += scale * S1[i * 2 + j]! * q[i]!;
    const ref = deltaRuleRef(d, { ...c }, { scale });
    assertClose('ref o', ref.o, o, 1e-14);
    assertClose('ref S1', ref.finalState, S1, 1e-14);
    for (const variant of ['native', 'fused_ts', 'chunk'] as const) {
      if (variant === 'native' && !hasNative) continue;
      const r = runVariant(d, c, variant, { scale, withS0: true, chunkSize: 16 });
      assertClose(`${variant} o`, r.o, o, 1e-6);
      assertClose(`${variant} S1`, r.sT, S1, 1e-6);
    }
  });

  test('all-zero inputs give zero outputs', () => {
    const d = { B: 1, T: 5, H: 2, K: 4, V: 3 };
    const z = (n: number) => new Float32Array(n);
    const c: Case = { q: z(40), k: z(40), v: z(30), beta: z(10), s0: z(24), dO: z(30), dST: z(24) };
    for (const variant of ['native', 'fused_ts', 'chunk'] as const) {
      if (variant === 'native' && !hasNative) continue;
      const r = runVariant(d, c, variant, { scale: 1, withS0: false, chunkSize: 16 });
      assert.ok(r.o.every((x) => x === 0) && r.sT.every((x) => x === 0), `${variant}: non-zero output`);
    }
  });

  // k = (½,½,½,½) is exactly unit in float32, so with S0 = k cᵀ every product below is exact: β = 2 maps the
  // projection kᵀS to −kᵀS (a Householder reflection), β = 0 leaves it; o_t = kᵀS_t reads it out (q = k).
  const parityVariants = (hasNative ? ['native', 'fused_ts'] : ['fused_ts']) as DeltaRuleVariant[];
  for (const variant of parityVariants) {
    test(`β = 2 with a fixed unit k is an exact reflection: parity over 1e5 steps (${variant})`, () => {
      const T = 100_000, K = 4, V = 2;
      const bits = randomArray(T, 21);
      const q = new Float32Array(T * K).fill(0.5), k = q;
      const beta = Float32Array.from(bits, (x) => (x > 0 ? 2 : 0));
      const c = [0.75, -1.25];
      const s0 = new Float32Array(K * V);
      for (let i = 0; i < K; ++i) for (let j = 0; j < V; ++j) s0[i * V + j] = 0.5 * c[j]!;
      const o = tf.tidy(() => deltaRule(tf.tensor4d(q, [1, T, 1, K]), tf.tensor4d(k, [1, T, 1, K]), tf.zeros([1, T, 1, V]),
        tf.tensor3d(beta, [1, T, 1]), { variant, initialState: tf.tensor4d(s0, [1, 1, K, V]) }).o.dataSync());
      let sign = 1, flips = 0;
      for (let t = 0; t < T; ++t) {
        if (beta[t] === 2) (sign = -sign), flips++;
        for (let j = 0; j < V; ++j) {
          if (o[t * V + j] !== sign * c[j]!) assert.fail(`step ${t}: o[${j}] = ${o[t * V + j]}, expected exactly ${sign * c[j]!}`);
        }
      }
      assert.ok(flips > 40_000, `only ${flips} reflections`);
    });
  }

  test('under β ∈ (0,1) the projection on k never alternates (it does with β near 2)', () => {
    // With a constant value v the projection p_t = kᵀS_t obeys p_t − v = (1 − β_t)(p_{t−1} − v): a contraction
    // towards v that keeps its sign when β < 1 and flips it every step when β > 1. Checked until it converges.
    const T = 400, K = 4, V = 1, vConst = 0.3;
    const q = new Float32Array(T * K).fill(0.5);
    const run = (lo: number, hi: number) => {
      const beta = randomArray(T, 33, lo, hi);
      return tf.tidy(() => deltaRule(tf.tensor4d(q, [1, T, 1, K]), tf.tensor4d(q, [1, T, 1, K]), tf.fill([1, T, 1, V], vConst) as tf.Tensor4D,
        tf.tensor3d(beta, [1, T, 1]), { variant: 'fused_ts', initialState: tf.fill([1, 1, K, V], -1) as tf.Tensor4D }).o.dataSync());
    };
    const p0 = -2 - vConst; // kᵀS_0 − v
    const low = run(0.01, 0.99);
    let prev = p0, steps = 0;
    for (let t = 0; t < T && Math.abs(low[t]! - vConst) > 1e-6; ++t, ++steps) {
      const e = low[t]! - vConst;
      assert.ok(Math.sign(e) === Math.sign(p0), `β ∈ (0,1): p − v changed sign at step ${t}`);
      assert.ok(Math.abs(e) <= Math.abs(prev) * (1 + 1e-6), `β ∈ (0,1): |p − v| grew at step ${t}`);
      prev = e;
    }
    assert.ok(steps > 8, `converged after ${steps} steps; too few to say anything`);
    const high = run(1.5, 1.99);
    prev = p0, steps = 0;
    for (let t = 0; t < T && Math.abs(high[t]! - vConst) > 1e-6; ++t, ++steps) {
      const e = high[t]! - vConst;
      assert.ok(Math.sign(e) === -Math.sign(prev), `β ∈ (1.5,2): p − v did not alternate at step ${t}`);
      prev = e;
    }
    assert.ok(steps > 15, `β ∈ (1.5,2): alternated for only ${steps} steps`);
  });
});

describe('delta_rule reference backward vs float64 central finite differences', () => {
  for (const [name, lo, hi] of [['β ∈ (0,1)', 0, 1], ['β ∈ (0,2)', 0, 2], ['β near 0, 1, 2', 0, 0]] as const) {
    test(name, () => {
      const d = { B: 1, T: 7, H: 2, K: 4, V: 3 };
      const c = makeCase(d, 41, lo, hi);
      if (hi === 0) c.beta.set([1e-3, 0.999, 1.001, 1.999, 2, 0, 1, 1e-3, 0.999, 1.001, 1.999, 2, 0, 1]);
      const scale = 0.6;
      const x = { q: Float64Array.from(c.q), k: Float64Array.from(c.k), v: Float64Array.from(c.v), beta: Float64Array.from(c.beta), s0: Float64Array.from(c.s0) };
      const loss = () => {
        const r = deltaRuleRef(d, x, { scale });
        let l = 0;
        for (let i = 0; i < r.o.length; ++i) l += r.o[i]! * c.dO[i]!;
        for (let i = 0; i < r.finalState.length; ++i) l += r.finalState[i]! * c.dST[i]!;
        return l;
      };
      const g = deltaRuleRefBackward(d, x, c.dO, c.dST, { scale });
      const h = 1e-6;
      for (const [input, grad] of [['q', g.dq], ['k', g.dk], ['v', g.dv], ['beta', g.dbeta], ['s0', g.ds0]] as const) {
        const arr = x[input];
        const fd = new Float64Array(arr.length);
        for (let i = 0; i < arr.length; ++i) {
          const keep = arr[i]!;
          arr[i] = keep + h;
          const lp = loss();
          arr[i] = keep - h;
          const lm = loss();
          arr[i] = keep;
          fd[i] = (lp - lm) / (2 * h);
        }
        assertClose(`d${input}`, grad, fd, 1e-8);
      }
    });
  }
});

describe('delta_rule variants vs the float64 reference (forward and all gradients, relative RMS ≤ 1e-5)', () => {
  const shapes: [string, DeltaRuleDims][] = [
    ['B1-T63-H1-K32', { B: 1, T: 63, H: 1, K: 32, V: 32 }],
    ['B2-T100-H4-K60-V48', { B: 2, T: 100, H: 4, K: 60, V: 48 }],
  ];
  const variants: [string, DeltaRuleVariant, ChunkSize | undefined][] = [
    ['native', 'native', undefined], ['fused_ts', 'fused_ts', undefined],
    ['chunk16', 'chunk', 16], ['chunk32', 'chunk', 32], ['chunk64', 'chunk', 64],
  ];
  for (const [shapeName, d] of shapes) {
    for (const [betaName, hi] of [['β ∈ (0,1)', 1], ['β ∈ (0,2)', 2]] as const) {
      for (const withS0 of [true, false]) {
        // Without S0 only the smaller shape, to keep the file fast.
        if (!withS0 && d.B > 1) continue;
        test(`${shapeName}, ${betaName}, ${withS0 ? 'with' : 'without'} initial state`, () => {
          const c = makeCase(d, 100 + d.T + hi, 0, hi);
          const scale = 1 / Math.sqrt(d.K);
          const s0 = withS0 ? c.s0 : null;
          const ref = deltaRuleRef(d, { ...c, s0 }, { scale });
          const g = deltaRuleRefBackward(d, { ...c, s0 }, c.dO, c.dST, { scale });
          const want = [g.dq, g.dk, g.dv, g.dbeta, g.ds0];
          for (const [vName, variant, chunkSize] of variants) {
            if (variant === 'native' && !hasNative) continue;
            const r = runVariant(d, c, variant, { scale, chunkSize, withS0 });
            assertClose(`${vName} o`, r.o, ref.o, 1e-5);
            assertClose(`${vName} finalState`, r.sT, ref.finalState, 1e-5);
            ['dq', 'dk', 'dv', 'dbeta', 'dinitialState'].slice(0, r.grads.length).forEach((n, i) => assertClose(`${vName} ${n}`, r.grads[i]!, want[i]!, 1e-5));
          }
        });
      }
    }
  }

  test('fused backward with and without state checkpoints, T = 1000, β ∈ (0,2)', () => {
    const d = { B: 1, T: 1000, H: 1, K: 16, V: 16 };
    const c = makeCase(d, 7, 0, 2);
    const g = deltaRuleRefBackward(d, c, c.dO, c.dST, { scale: 0.25 });
    const want = [g.dq, g.dk, g.dv, g.dbeta, g.ds0];
    for (const variant of (hasNative ? ['native', 'fused_ts'] : ['fused_ts']) as DeltaRuleVariant[]) {
      for (const checkpointEvery of [0, 16, 64]) {
        const r = runVariant(d, c, variant, { scale: 0.25, withS0: true, checkpointEvery });
        r.grads.forEach((x, i) => assertClose(`${variant} ckpt ${checkpointEvery} grad ${i}`, x, want[i]!, 1e-5));
      }
    }
  });

  // Near-parallel keys with β close to 2 are the known hard case for the chunk form (README.md §5): the entries of
  // (I + L)⁻¹ grow and the in-chunk products cancel, so its float32 error grows with the chunk size
  // (measured ≈ 2e-6 / 6e-6 / 1.6e-5 relative RMS for chunk 16 / 32 / 64). The recurrent fused paths stay at 1e-6.
  test('near-parallel keys, β ∈ (1.9, 2): fused within 1e-5, chunk within 1e-4', () => {
    const d = { B: 1, T: 256, H: 1, K: 32, V: 32 };
    const c = makeCase(d, 5, 1.9, 2, true);
    const ref = deltaRuleRef(d, c, {});
    const g = deltaRuleRefBackward(d, c, c.dO, c.dST, {});
    const want = [g.dq, g.dk, g.dv, g.dbeta, g.ds0];
    for (const [vName, variant, chunkSize] of variants) {
      if (variant === 'native' && !hasNative) continue;
      const tol = variant === 'chunk' ? 1e-4 : 1e-5;
      const r = runVariant(d, c, variant, { scale: 1, chunkSize, withS0: true });
      assertClose(`${vName} o`, r.o, ref.o, tol);
      assertClose(`${vName} finalState`, r.sT, ref.finalState, tol);
      r.grads.forEach((x, i) => assertClose(`${vName} grad ${i}`, x, want[i]!, tol));
    }
    // The case is hard for chunk 64: it is measurably worse than the recurrent form.
    const chunk64 = runVariant(d, c, 'chunk', { scale: 1, chunkSize: 64, withS0: true });
    assert.ok(relRms(chunk64.o, ref.o) > 1e-6, 'expected the chunk form to lose precision here');
  });

  test('the kernels are registered on the cpu and wasm backends too (forward and gradients there)', async () => {
    const prev = tf.getBackend() as 'lrnn' | 'cpu';
    const d = { B: 1, T: 20, H: 2, K: 8, V: 4 };
    const c = makeCase(d, 3, 0, 2);
    const ref = deltaRuleRef(d, c, { scale: 0.5 });
    const g = deltaRuleRefBackward(d, c, c.dO, c.dST, { scale: 0.5 });
    const want = [g.dq, g.dk, g.dv, g.dbeta, g.ds0];
    try {
      for (const backend of ['cpu', 'wasm'] as const) {
        await initBackend({ backend });
        for (const variant of (hasNative ? ['native', 'fused_ts', 'chunk'] : ['fused_ts', 'chunk']) as DeltaRuleVariant[]) {
          const r = runVariant(d, c, variant, { scale: 0.5, withS0: true, chunkSize: 16 });
          assertClose(`${backend} ${variant} o`, r.o, ref.o, 1e-5);
          r.grads.forEach((x, i) => assertClose(`${backend} ${variant} grad ${i}`, x, want[i]!, 1e-5));
        }
      }
    } finally {
      await initBackend({ backend: prev });
    }
  });
});
