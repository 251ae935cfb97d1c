// Global-norm clipping: PyTorch's rule, per-group norms, and non-finite gradients left for the skip rule.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clipGradNorm, gradNorms, paramGroup } from './clip.ts';

test('norm below max: unchanged; above: scaled by max/(n+1e-6), norms reported before clipping', () => {
  const g = () => new Map([['model.layers.0.attn.q_proj.weight', new Float32Array([3, 0])], ['model.layers.1.mlp.up_proj.weight', new Float32Array([0, 4])], ['lm_head.weight', new Float32Array([0])]]);
  const a = g();
  const r1 = clipGradNorm(a, 10);
  assert.equal(r1.norm, 5);
  assert.equal(r1.clipped, false);
  assert.deepEqual(a.get('model.layers.0.attn.q_proj.weight'), new Float32Array([3, 0]));
  const b = g();
  const r2 = clipGradNorm(b, 1);
  assert.equal(r2.norm, 5);
  assert.ok(r2.clipped);
  assert.deepEqual(r2.groups, { 'layers.0': 3, 'layers.1': 4, head: 0 });
  const s = 1 / (5 + 1e-6);
  assert.deepEqual(b.get('model.layers.0.attn.q_proj.weight'), new Float32Array([3 * s, 0]));
  assert.ok(Math.abs(gradNorms(b).norm - 1) < 1e-6);
  const c = g();
  assert.equal(clipGradNorm(c, 0).clipped, false); // 0 = off
});

test('non-finite gradients give a non-finite norm and are not touched', () => {
  const m = new Map([['w', new Float32Array([1, NaN])]]);
  const r = clipGradNorm(m, 1);
  assert.ok(Number.isNaN(r.norm));
  assert.equal(r.clipped, false);
  assert.equal(m.get('w')![0], 1);
  assert.equal(clipGradNorm(new Map([['w', new Float32Array([Infinity])]]), 1).norm, Infinity);
});

test('parameter groups', () => {
  assert.equal(paramGroup('backbone.layers.12.mixer.A_log'), 'layers.12');
  assert.equal(paramGroup('model.embeddings.weight'), 'embed');
  assert.equal(paramGroup('backbone.embeddings.weight'), 'embed');
  assert.equal(paramGroup('lm_head.weight'), 'head');
  assert.equal(paramGroup('backbone.norm_f.weight'), 'final_norm');
});
