// Spike z-scores, the NaN/Inf skip rule and update/parameter ratios on hand cases.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NonfiniteGuard, SpikeDetector, UpdateRatio, diffSquares } from './stability.ts';

test('z-score against the previous window; spikes are upward jumps only; NaN never enters the window', () => {
  const d = new SpikeDetector(4, 3, 4);
  for (const x of [1, 2, 3]) assert.deepEqual(d.observe(x), { z: null, spike: false });
  assert.deepEqual(d.observe(NaN), { z: null, spike: false });
  assert.equal(d.observe(4).z, null); // still 3 samples before it
  // window [1,2,3,4]: mean 2.5, sample std sqrt(5/3)
  const z = d.observe(10).z!;
  assert.ok(Math.abs(z - 7.5 / Math.sqrt(5 / 3)) < 1e-12, String(z));
  assert.equal(d.spikes, 1);
  // window now [2,3,4,10]; a drop is not a spike
  const r = d.observe(-100);
  assert.ok(r.z! < -3 && !r.spike);
  assert.equal(d.spikes, 1);
});

test('spike detector state round-trips through JSON', () => {
  const a = new SpikeDetector(5, 2, 3), b = new SpikeDetector(5, 2, 3);
  const xs = [3, 2.9, 2.8, 2.7, 5, 2.6, 2.5, 9, 2.4];
  xs.slice(0, 4).forEach((x) => a.observe(x));
  b.restore(JSON.parse(JSON.stringify(a.toJSON())));
  for (const x of xs.slice(4)) assert.deepEqual(b.observe(x), a.observe(x));
  assert.equal(b.spikes, a.spikes);
  assert.ok(a.spikes >= 1);
});

test('non-finite guard skips, counts and stops at the limit', () => {
  const g = new NonfiniteGuard(2);
  assert.equal(g.check(1, 1), 'ok');
  assert.equal(g.check(NaN, 1), 'skip');
  assert.equal(g.check(1, Infinity), 'stop');
  assert.equal(g.count, 2);
  assert.match(g.stopMessage(7), /step 7: 2 steps .*max_nonfinite_steps = 2/);
});

test('update ratio ‖Δp‖/‖p‖, global and per group', () => {
  assert.deepEqual(diffSquares(new Float32Array([3, 4]), new Float32Array([0, 4])), { diff: 9, base: 16 });
  const u = new UpdateRatio();
  u.add(new Float32Array([1.1, 0]), new Float32Array([1, 0]), 'a');
  u.add(new Float32Array([0, 2]), new Float32Array([0, 2]), 'b');
  assert.ok(Math.abs(u.value() - Math.sqrt(0.01 / 5)) < 1e-7);
  const g = u.byGroup();
  assert.ok(Math.abs(g.a! - 0.1) < 1e-6);
  assert.equal(g.b, 0);
  assert.equal(new UpdateRatio().value(), 0);
});

test('xoshiro128**: the checkpoint state continues the same stream; spec step function', async () => {
  const { Xoshiro128 } = await import('../util/rng.ts');
  const { seededUniform } = await import('../models/init.ts');
  const a = new Xoshiro128(1234), u = seededUniform(1234);
  for (let i = 0; i < 5; ++i) assert.equal(a.next(), u()); // same seeding and generator as model init
  const b = Xoshiro128.fromJSON(JSON.parse(JSON.stringify(a.toJSON())));
  for (let i = 0; i < 5; ++i) assert.equal(b.nextU32(), a.nextU32());
  // docs/checkpoint-format.md §11 example state, one step by hand: result = rotl(s1*5, 7)*9
  const s = new Xoshiro128(0, [123456789, 362436069, 521288629, 88675123]);
  const s1 = 362436069, x = Math.imul(s1, 5) >>> 0;
  assert.equal(s.nextU32(), Math.imul(((x << 7) | (x >>> 25)) >>> 0, 9) >>> 0);
  assert.throws(() => new Xoshiro128(0, [0, 0, 0, 0]), /all zeros/);
  assert.throws(() => Xoshiro128.fromJSON({ algorithm: 'mt19937', seed: 0, state: [1, 2, 3, 4] }), /not supported/);
});
