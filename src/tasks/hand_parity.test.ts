// A hand-set one-head DeltaNet solves parity exactly (docs/paper-notes.md §7.5), built directly on the deltaRule
// kernel: fixed unit key k, v = 0, β = 2 on bit 1 and 0 on bit 0, S_0 = k·1ᵀ, read-out q = k. Each 1 bit is
// the reflection I − 2kkᵀ, so kᵀS_t = (−1)^(number of 1 bits so far) and its sign is the running parity.
// With the [0,1] range (β = 1 on bit 1) the first 1 bit projects the state to 0 and the signal is gone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend/index.ts';
import { deltaRule } from '../kernels/delta_rule/index.ts';
import { TaskRng } from './rng.ts';

await initBackend();

const T = 10_000;
const k = [0.6, 0.8]; // unit, not axis-aligned, so the reflection really mixes coordinates in float32

function run(betaOnOne: number, bits: Uint8Array) {
  return tf.tidy(() => {
    const kk = tf.tile(tf.tensor4d(k, [1, 1, 1, 2]), [1, T, 1, 1]) as tf.Tensor4D;
    const v = tf.zeros([1, T, 1, 1]) as tf.Tensor4D;
    const beta = tf.tensor3d(Float32Array.from(bits, (b) => (b ? betaOnOne : 0)), [1, T, 1]);
    const s0 = tf.tensor4d(k, [1, 1, 2, 1]); // S_0 = k ⊗ [1]
    const { o } = deltaRule(kk, kk, v, beta, { initialState: s0 });
    return o.dataSync() as Float32Array; // o_t = kᵀ S_t
  });
}

test('hand-set DeltaNet with β ∈ {0, 2} tracks parity exactly over 10,000 steps', () => {
  const rng = new TaskRng(1, 0, 0);
  const bits = Uint8Array.from({ length: T }, () => rng.nextU32() >>> 31);
  const o = run(2, bits);
  let parity = 0, wrong = 0;
  for (let t = 0; t < T; ++t) {
    parity ^= bits[t]!;
    const predicted = o[t]! < 0 ? 1 : 0;
    if (predicted !== parity) wrong++;
  }
  assert.equal(wrong, 0);
  // The magnitude stays ≈ 1 (a reflection is an isometry), so the read-out never nears the sign boundary.
  let minAbs = Infinity;
  for (const x of o) minAbs = Math.min(minAbs, Math.abs(x));
  assert.ok(minAbs > 0.99, `|kᵀS| fell to ${minAbs}`);
  // The constant all-ones input alternates sign at every step.
  const alt = run(2, new Uint8Array(T).fill(1));
  for (let t = 0; t < T; ++t) assert.equal(alt[t]! < 0, t % 2 === 0, `step ${t}: ${alt[t]}`);
});

test('the same construction with the [0,1] range (β = 1) cannot alternate: the state collapses', () => {
  const o = run(1, new Uint8Array(T).fill(1));
  for (let t = 0; t < 100; ++t) assert.ok(Math.abs(o[t]!) < 1e-6, `step ${t}: ${o[t]}`);
});
