// AdamW against PyTorch's algorithm: the no-decay set of the fixtures, the first step on the fixtures'
// own gradients (closed form), five steps against a float64 transcription of torch.optim.AdamW, the
// native and TS loops against each other, and a moment export/import that resumes bit for bit.
// (The full 5-step conformance with the model's backward is src/optim/adamw_fixture.test.ts.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { assertClose, randn } from '../testing/assert.ts';
import { fixtureDir } from '../testing/fixtures.ts';
import { AdamW, adamwIsNative, isNoDecay, type ParamSpec } from './adamw.ts';

/** Minimal safetensors reader for F32 tensors (enough for the fixtures). */
function readSafetensors(file: string): { meta: Record<string, string>; tensors: Map<string, { shape: number[]; data: Float32Array }> } {
  const buf = readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  let meta: Record<string, string> = {};
  for (const [name, h] of Object.entries(header)) {
    if (name === '__metadata__') { meta = h as unknown as Record<string, string>; continue; }
    if (h.dtype !== 'F32') continue;
    const [a, b] = h.data_offsets;
    const bytes = buf.subarray(8 + n + a, 8 + n + b);
    tensors.set(name, { shape: h.shape, data: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) });
  }
  return { meta, tensors };
}

for (const fixture of ['delta_net-std', 'mamba-neg'] as const) {
  test(`${fixture}: no-decay set equals the fixture's no_decay list`, () => {
    const { meta, tensors } = readSafetensors(path.join(fixtureDir(fixture), 'train_expected.safetensors'));
    const params: ParamSpec[] = [...tensors].filter(([k]) => k.startsWith('grad.')).map(([k, t]) => ({ name: k.slice(5), shape: t.shape }));
    const opt = new AdamW(params, { betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1 });
    assert.deepEqual([...opt.noDecay].sort(), meta.no_decay!.split(',').sort());
    // The name rule alone (no shapes) gives the same set.
    assert.deepEqual(params.filter((p) => isNoDecay(p.name)).map((p) => p.name).sort(), meta.no_decay!.split(',').sort());
  });

  test(`${fixture}: first AdamW step on the fixture gradients matches the closed form`, () => {
    const model = readSafetensors(path.join(fixtureDir(fixture), 'model.safetensors')).tensors;
    const { tensors } = readSafetensors(path.join(fixtureDir(fixture), 'train_expected.safetensors'));
    const grads = new Map([...tensors].filter(([k]) => k.startsWith('grad.')).map(([k, t]) => [k.slice(5), t.data.slice()]));
    const params: ParamSpec[] = [...grads.keys()].map((name) => ({ name, shape: model.get(name)!.shape }));
    const values = new Map(params.map((p) => [p.name, model.get(p.name)!.data.slice()]));
    const lr = 1e-3, wd = 0.1, eps = 1e-8;
    const opt = new AdamW(params, { betas: [0.9, 0.95], eps, weightDecay: wd });
    opt.update(values, grads, lr);
    assert.equal(opt.step, 1);
    // Step 1: m̂ = g, v̂ = g², so p1 = p0·(1 − lr·wd) − lr·g/(|g| + ε).
    for (const p of params) {
      const p0 = model.get(p.name)!.data, g = grads.get(p.name)!;
      const decay = isNoDecay(p.name, p.shape) ? 0 : lr * wd;
      const want = Array.from(p0, (x, i) => x * (1 - decay) - (lr * g[i]!) / (Math.abs(g[i]!) + eps));
      assertClose(p.name, values.get(p.name)!, want, 1e-6);
    }
  });
}

/** torch.optim.AdamW (single tensor, amsgrad off) in float64, step by step. */
function torchAdamW64(p: Float64Array, grads: Float64Array[], lr: number[], b1: number, b2: number, eps: number, wd: number): Float64Array {
  const m = new Float64Array(p.length), v = new Float64Array(p.length), x = p.slice();
  grads.forEach((g, k) => {
    const t = k + 1;
    for (let i = 0; i < x.length; ++i) {
      x[i] = x[i]! * (1 - lr[k]! * wd);
      m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
      v[i] = b2 * v[i]! + (1 - b2) * g[i]! * g[i]!;
      const denom = Math.sqrt(v[i]!) / Math.sqrt(1 - b2 ** t) + eps;
      x[i] = x[i]! - (lr[k]! / (1 - b1 ** t)) * (m[i]! / denom);
    }
  });
  return x;
}

function runSteps(useNative: boolean, steps: number, start?: AdamW) {
  const n = 1000;
  const params: ParamSpec[] = [{ name: 'w', shape: [10, 100] }, { name: 'norm.weight', shape: [n] }];
  const opt = start ?? new AdamW(params, { betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1, useNative });
  return { opt, params, n };
}

test('five steps match a float64 transcription of torch.optim.AdamW (TS and native loops)', () => {
  const n = 1000, lrs = [1e-3, 2e-3, 3e-3, 2e-3, 1e-3];
  const p0 = randn(n, 1), gs = lrs.map((_, k) => randn(n, 10 + k, k === 2 ? 1e-3 : 1));
  for (const useNative of [false, true]) {
    if (useNative && !adamwIsNative()) continue;
    for (const [name, wd] of [['w', 0.1], ['norm.weight', 0]] as const) {
      const opt = new AdamW([{ name, shape: name === 'w' ? [10, 100] : [n] }], { betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1, useNative });
      const x = new Float32Array(p0);
      lrs.forEach((lr, k) => opt.update(new Map([[name, x]]), new Map([[name, new Float32Array(gs[k]!)]]), lr));
      const want = torchAdamW64(new Float64Array(new Float32Array(p0)), gs.map((g) => new Float64Array(new Float32Array(g))), lrs, 0.9, 0.95, 1e-8, wd);
      assertClose(`${name} native=${useNative}`, x, want, 1e-6);
      assert.equal(opt.step, 5);
    }
  }
});

test('native and TS updates agree', { skip: !adamwIsNative() && 'native addon without adamwStep' }, () => {
  const out: Float32Array[] = [];
  for (const useNative of [false, true]) {
    const { opt } = runSteps(useNative, 0);
    const w = new Float32Array(randn(1000, 3)), nw = new Float32Array(randn(1000, 4));
    for (let k = 0; k < 4; ++k) opt.update(new Map([['w', w], ['norm.weight', nw]]), new Map([['w', new Float32Array(randn(1000, 20 + k))], ['norm.weight', new Float32Array(randn(1000, 30 + k))]]), 1e-3);
    out.push(w, nw);
  }
  assertClose('w', out[2]!, out[0]!, 1e-6);
  assertClose('norm.weight', out[3]!, out[1]!, 1e-6);
});

test('export → import of moments resumes bit for bit; missing gradients are errors', () => {
  const grads = (k: number) => new Map([['w', new Float32Array(randn(1000, 40 + k))], ['norm.weight', new Float32Array(randn(1000, 50 + k))]]);
  const a = runSteps(false, 0).opt;
  const wa = new Float32Array(randn(1000, 5)), na = new Float32Array(1000).fill(1);
  const vals = new Map([['w', wa], ['norm.weight', na]]);
  for (let k = 0; k < 3; ++k) a.update(vals, grads(k), 1e-3);
  const saved = a.exportMoments();
  assert.deepEqual([...saved.keys()].sort(), ['norm.weight', 'w']);
  const wb = wa.slice(), nb = na.slice();
  for (let k = 3; k < 5; ++k) a.update(vals, grads(k), 1e-3);

  const b = runSteps(false, 0).opt;
  b.importMoments(3, saved);
  const valsB = new Map([['w', wb], ['norm.weight', nb]]);
  for (let k = 3; k < 5; ++k) b.update(valsB, grads(k), 1e-3);
  assert.deepEqual(wb, wa);
  assert.deepEqual(nb, na);
  assert.equal(b.describe(1e-3, 1).step, 5);
  assert.deepEqual(b.describe(1e-3, 1).no_weight_decay, ['norm.weight']);

  assert.throws(() => b.update(valsB, new Map([['w', new Float32Array(1000)]]), 1e-3), /no gradient for parameter 'norm.weight'/);
  assert.throws(() => b.importMoments(1, new Map([['w', { expAvg: new Float32Array(3), expAvgSq: new Float32Array(3) }]])), /'w.exp_avg' has 3 values/);
  assert.throws(() => b.importMoments(1, new Map([['nope', { expAvg: new Float32Array(3), expAvgSq: new Float32Array(3) }]])), /unknown parameter 'nope'/);
});

test('the update measures Σ Δp² and Σ p² itself: bitwise diffSquares on a saved copy, native and TS alike', async () => {
  const { diffSquares } = await import('../train/stability.ts');
  // 5000 values: several native blocks and a partial one; moments from a first step make Δp non-trivial.
  const n = 5000, got: number[][] = [];
  for (const useNative of adamwIsNative() ? [false, true] : [false]) {
    const opt = new AdamW([{ name: 'w', shape: [50, 100] }, { name: 'norm.weight', shape: [n] }], { betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1, useNative });
    const vals = new Map([['w', new Float32Array(randn(n, 6))], ['norm.weight', new Float32Array(randn(n, 7, 0.1))]]);
    for (let k = 0; k < 2; ++k) {
      const before = new Map([...vals].map(([name, p]) => [name, p.slice()]));
      const seen: number[] = [];
      opt.update(vals, new Map([['w', new Float32Array(randn(n, 60 + k))], ['norm.weight', new Float32Array(randn(n, 70 + k))]]), 1e-2, (name, diff, base) => {
        const want = diffSquares(vals.get(name)!, before.get(name)!);
        assert.equal(diff, want.diff, `${name} Σ Δp², native=${useNative}`);
        assert.equal(base, want.base, `${name} Σ p², native=${useNative}`);
        assert.ok(diff > 0);
        seen.push(diff, base);
      });
      assert.equal(seen.length, 4);
      got.push(seen);
    }
  }
  if (got.length === 4) assert.deepEqual(got.slice(2), got.slice(0, 2));
});
