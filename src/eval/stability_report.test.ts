// The stability report's verdicts against the paper's claims, from hand-made run summaries.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunSummary } from './compare.ts';
import { claimRows, stabilityReport } from './stability_report.ts';

function summary(name: string, o: Partial<RunSummary> & { code: number; math: number }): RunSummary {
  const split = (ppl: number) => ({ final_loss: Math.log(ppl), best_loss: Math.log(ppl), final_ppl: ppl, best_ppl: ppl, final_bpb: 1, test_ppl: null, test_bpb: null });
  return {
    name, dir: name, arch: 'deltanet', allow_neg_eigval: false, steps: 100, tokens_seen: 1000, status: 'completed', final_train_loss: 3,
    final_val_loss: 3, best_val_loss: 3, splits: { code: split(o.code), math: split(o.math) }, spikes: 0, skipped_steps: 0,
    grad_norm_max: 2, grad_norm_p99: 1.5, tokens_per_s: 1000, eig_kind: 'beta', eig_frac_final: 0, eig_frac_max: 0, eig_min: 0.1, eig_max: 0.9, ...o,
  };
}

test('claim rows: DeltaNet pair that agrees with the paper', () => {
  const base = summary('dn', { code: 20, math: 15 });
  const neg = summary('dn-negeig', { code: 19, math: 14, final_val_loss: 3.02, eig_frac_final: 0.12, eig_max: 1.7 });
  const rows = claimRows({ label: 'DeltaNet', arch: 'deltanet', base, negeig: neg, figures: [] });
  assert.deepEqual(rows.map((r) => r[3]), ['yes', 'yes (within 5%)', 'yes', 'yes', 'yes']);
  assert.match(rows[2]![2]!, /^validation ppl 19 vs 20 \(-5\.0%\)$/);
  // Held-out test perplexity wins when both runs have it.
  base.splits.code!.test_ppl = 30;
  neg.splits.code!.test_ppl = 33;
  const withTest = claimRows({ label: 'DeltaNet', arch: 'deltanet', base, negeig: neg, figures: [] });
  assert.match(withTest[2]![2]!, /^test ppl 33 vs 30 \(10\.0%\)$/);
  assert.equal(withTest[2]![3], 'no');
});

test('claim rows: an unstable Mamba pair with lower code perplexity disagrees', () => {
  const base = summary('m', { code: 20, math: 15, arch: 'mamba', eig_kind: 'abar' });
  const neg = summary('m-negeig', { code: 19, math: 16, arch: 'mamba', skipped_steps: 3, status: 'stopped_nonfinite', final_val_loss: 3.2, eig_frac_final: 0 });
  const rows = claimRows({ label: 'Mamba', arch: 'mamba', base, negeig: neg, figures: [] });
  assert.deepEqual(rows.map((r) => r[3]), ['no', 'no (differs by more than 5%)', 'no', 'yes', 'no']);
  assert.match(rows[4]![0]!, /Ā < 0/);
  const md = stabilityReport([{ label: 'Mamba small', arch: 'mamba', base, negeig: neg, figures: ['lm-stability/mamba/loss.svg'] }], { setup: ['2 cores'], generated: 'now' });
  assert.match(md, /^# Language-model stability/);
  assert.match(md, /## Mamba small: \[0,1\] \(`m`\) vs \[-1,1\] \(`m-negeig`\)/);
  assert.match(md, /\| trains stably at the same learning rate \| .* \| no \|/);
  assert.match(md, /!\[lm-stability\/mamba\/loss\.svg\]\(lm-stability\/mamba\/loss\.svg\)/);
  assert.match(md, /\| loss spikes \| 0 \| 0 \|/);
});
