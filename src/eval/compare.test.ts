// `lrnn compare` on two hand-written run folders (metrics.jsonl in the trainer's record format, a resolved
// config, an `lrnn eval` result): the summary numbers, the table, SVGs that parse with the expected
// elements, and clear errors (exit code 2, naming folder, file and line) for missing or corrupt runs.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { runCli as lrnn } from '../testing/cli.ts';
import type { DoneRecord, EvalRecord, StepRecord } from '../log/metrics.ts';
import { quantile, type RunSummary } from './compare.ts';
import { findAll, parseXml } from '../testing/xml_check.ts';

let dir = '';

const TOKENS_PER_STEP = 128;

function step(i: number, o: { loss: number | null; grad: number | null; spike?: boolean; skipped?: boolean; frac: number; kind: 'beta' | 'abar' }): StepRecord {
  return {
    kind: 'step', step: i, tokens_seen: i * TOKENS_PER_STEP, loss: o.loss, lr: 1e-3, grad_norm: o.grad, grad_norm_groups: {}, clipped: false,
    update_ratio: 1e-3, skipped: !!o.skipped, nonfinite_count: 0, loss_z: null, spike: !!o.spike, spike_count: 0,
    eig: [0, 1].map((layer) => ({ layer, kind: o.kind, frac_ext: o.frac * (layer + 1) / 1.5, min: 0.1, max: o.kind === 'beta' ? 1 + o.frac : 0.9 })),
    perf: { tokens_per_s: 1000 + i, step_s: 0.1, data_wait_s: 0, elapsed_s: i * 0.1, rss_mb: 100, peak_rss_mb: 100 },
  };
}

function evalRec(i: number, text: number, code: number): EvalRecord {
  return {
    kind: 'eval', step: i, tokens_seen: i * TOKENS_PER_STEP, mean_loss: (text + code) / 2, perf: { eval_s: 1 },
    splits: { text: { tokens: 1000, loss: text, ppl: Math.exp(text), bpb: text / Math.LN2 / 4 }, code: { tokens: 1000, loss: code, ppl: Math.exp(code), bpb: null } },
  };
}

/** Writes a run folder; returns its grad norms. */
function writeRun(name: string, negeig: boolean): number[] {
  const d = path.join(dir, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(path.join(d, 'config.resolved.toml'), `name = "${name}"\n\n[model]\narch = "deltanet"\nsize = "tiny"\nallow_neg_eigval = ${negeig}\n`);
  const lines: string[] = [];
  const grads: number[] = [];
  for (let i = 1; i <= 40; ++i) {
    const skipped = negeig && i === 7;
    const grad = skipped ? null : 1 + 10 / i + (i === 20 ? 5 : 0);
    if (grad !== null) grads.push(grad);
    lines.push(JSON.stringify(step(i, { loss: skipped ? null : 8 - i / 8, grad, spike: !negeig && i === 20, skipped, frac: negeig ? 0.1 : 0, kind: 'beta' })));
    if (i === 20) lines.push(JSON.stringify(evalRec(i, negeig ? 5.0 : 5.2, 4.0)));
    if (i === 40) lines.push(JSON.stringify(evalRec(i, negeig ? 4.5 : 4.6, negeig ? 3.5 : 4.1)));
  }
  const done: DoneRecord = { kind: 'done', step: 40, tokens_seen: 40 * TOKENS_PER_STEP, status: 'completed', nonfinite_count: negeig ? 1 : 0, spike_count: negeig ? 0 : 1, perf: { wall_s: 4, peak_rss_mb: 100, mean_tokens_per_s: negeig ? 1500 : 1600 } };
  lines.push(JSON.stringify(done));
  writeFileSync(path.join(d, 'metrics.jsonl'), lines.join('\n') + '\n');
  return grads;
}

let gradsA: number[] = [];

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'lrnn-compare-'));
  gradsA = writeRun('deltanet-a', false);
  writeRun('deltanet-a-negeig', true);
  mkdirSync(path.join(dir, 'deltanet-a-negeig', 'eval'));
  writeFileSync(path.join(dir, 'deltanet-a-negeig', 'eval', 'step-40.json'), JSON.stringify({
    format: 'lrnn-eval', version: 1, checkpoint: 'x', model_type: 'delta_net', allow_neg_eigval: true, parameters: 1, step: 40, tokens_seen: 5120,
    subset: 'test', seq_len: 32, stride: 32, max_tokens: null, batch_size: 8, buckets: [128],
    splits: { text: { tokens: 10, nll: 45, loss: 4.5, ppl: 90.0171, bytes: 40, bpb: 1.62, windows: 1, buckets: [], source: 's', truncated: false, bytes_exact: true } },
    perf: { eval_s: 1, tokens_per_s: 10 },
  }));
  writeFileSync(path.join(dir, 'deltanet-a-negeig', 'eval', 'other.json'), '{"not": "an eval result"}');
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('compare two runs: summary numbers, table, markdown and JSON', async () => {
  const out = path.join(dir, 'cmp');
  const r = await lrnn('compare', path.join(dir, 'deltanet-a'), path.join(dir, 'deltanet-a-negeig'), '--out', out);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /metric\s+deltanet-a\s+deltanet-a-negeig/);
  assert.match(r.out, /loss spikes\s+1\s+0/);
  assert.match(r.out, /skipped NaN\/Inf steps\s+0\s+1/);
  assert.match(r.out, /allow_neg_eigval\s+false\s+true/);
  const { runs } = JSON.parse(readFileSync(path.join(out, 'compare.json'), 'utf8')) as { runs: RunSummary[] };
  const [a, b] = runs as [RunSummary, RunSummary];
  assert.equal(a.spikes, 1);
  assert.equal(b.skipped_steps, 1);
  assert.equal(a.grad_norm_max, Math.max(...gradsA));
  assert.ok(Math.abs(a.grad_norm_p99! - quantile(gradsA, 0.99)!) < 1e-12);
  assert.equal(a.best_val_loss, (4.6 + 4.1) / 2);
  assert.equal(b.final_val_loss, (4.5 + 3.5) / 2);
  assert.equal(a.splits.code!.best_loss, 4.0, 'best code loss was at the first evaluation');
  assert.equal(a.splits.code!.final_loss, 4.1);
  assert.ok(Math.abs(b.splits.text!.final_ppl! - Math.exp(4.5)) < 1e-9);
  assert.equal(b.splits.text!.test_ppl, 90.0171, 'test perplexity from the lrnn eval result in <run>/eval/');
  assert.equal(a.splits.text!.test_ppl, null);
  assert.equal(b.tokens_per_s, 1500);
  assert.ok(Math.abs(b.eig_frac_final! - 0.1) < 1e-12, `mean over layers of 0.1/1.5 and 0.2/1.5 = 0.1, got ${b.eig_frac_final}`);
  assert.equal(a.eig_frac_final, 0);
  assert.equal(b.eig_max, 1.1);
  assert.equal(b.tokens_seen, 40 * TOKENS_PER_STEP);
  const md = readFileSync(path.join(out, 'compare.md'), 'utf8');
  assert.match(md, /^# Run comparison: deltanet-a vs deltanet-a-negeig/);
  assert.match(md, /\| loss spikes \| 1 \| 0 \|/);
  assert.match(md, /!\[loss\]\(loss\.svg\)/);
});

test('compare writes SVG plots that parse, with axes, legend and one line per run', async () => {
  const out = path.join(dir, 'cmp-svg');
  const r = await lrnn('compare', path.join(dir, 'deltanet-a'), path.join(dir, 'deltanet-a-negeig'), '--out', out, '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { files: string[] };
  const svgs = ['loss.svg', 'grad_norm.svg', 'ppl_text.svg', 'ppl_code.svg', 'eig_frac.svg'];
  for (const f of svgs) assert.ok(j.files.includes(path.join(out, f)), `${f} listed`);
  for (const f of svgs) {
    const root = parseXml(readFileSync(path.join(out, f), 'utf8'));
    assert.equal(root.name, 'svg', f);
    const texts = findAll(root, 'text').map((t) => t.text);
    assert.ok(texts.some((t) => t.startsWith('tokens seen')), `${f}: x label`);
    assert.ok(texts.some((t) => t.startsWith('deltanet-a-negeig')), `${f}: legend`);
    assert.ok(findAll(root, 'g').some((g) => g.attrs.class === 'x-ticks' && g.children.length >= 4), `${f}: x ticks`);
    assert.ok(findAll(root, 'polyline').length >= 2, `${f}: a line per run`);
  }
  const loss = parseXml(readFileSync(path.join(out, 'loss.svg'), 'utf8'));
  assert.ok(findAll(loss, 'text').some((t) => t.text === 'loss (nats/token) (log scale)'));
  // The negeig run's skipped step (loss null) breaks its training-loss line in two.
  assert.equal(findAll(loss, 'polyline').length, 1 + 1 + 2 + 1);
});

test('missing or corrupt run folders: exit code 2 naming folder, file and line', async () => {
  let r = await lrnn('compare', path.join(dir, 'nope'));
  assert.equal(r.code, 2);
  assert.match(r.err, /nope: no such run folder/);

  r = await lrnn('compare');
  assert.equal(r.code, 2);
  assert.match(r.err, /at least one RUN_DIR/);

  const empty = path.join(dir, 'empty');
  mkdirSync(empty);
  r = await lrnn('compare', empty);
  assert.equal(r.code, 2);
  assert.match(r.err, /empty: no metrics\.jsonl/);

  const bad = path.join(dir, 'bad');
  mkdirSync(bad);
  const good = JSON.stringify(step(1, { loss: 3, grad: 1, frac: 0, kind: 'abar' }));
  writeFileSync(path.join(bad, 'metrics.jsonl'), `${good}\n${good}\n{"kind": "step", "step": 3,\n${good}\n`);
  r = await lrnn('compare', bad);
  assert.equal(r.code, 2);
  assert.match(r.err, /bad[\\/]metrics\.jsonl:3: not a JSON line/);

  writeFileSync(path.join(bad, 'metrics.jsonl'), `${good}\n${good.replace('"loss":3', '"loss":"high"')}\n`);
  r = await lrnn('compare', bad);
  assert.equal(r.code, 2);
  assert.match(r.err, /metrics\.jsonl:2: 'step' record: key 'loss': expected a number or null, got "high"/);

  writeFileSync(path.join(bad, 'metrics.jsonl'), '{"kind": "eval", "step": 1, "tokens_seen": 1, "splits": {}}\n');
  r = await lrnn('compare', bad);
  assert.equal(r.code, 2);
  assert.match(r.err, /metrics\.jsonl: no 'step' records/);

  // A torn last line (a crash mid-write) is only a warning.
  writeFileSync(path.join(bad, 'metrics.jsonl'), `${good}\n{"kind": "st`);
  r = await lrnn('compare', bad, '--out', path.join(dir, 'cmp-torn'));
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /metrics\.jsonl:2: ignored a torn last line/);
  assert.ok(existsSync(path.join(dir, 'cmp-torn', 'eig_frac.svg')));

  mkdirSync(path.join(bad, 'eval'));
  writeFileSync(path.join(bad, 'eval', 'step-1.json'), '{"format": "lrnn-eval", "version": 1, "splits": {"text": {"tokens": 1}}}');
  appendFileSync(path.join(bad, 'metrics.jsonl'), '');
  r = await lrnn('compare', bad, '--out', path.join(dir, 'cmp-bad-eval'));
  assert.equal(r.code, 2);
  assert.match(r.err, /eval[\\/]step-1\.json: key 'splits\.text\.nll': expected a number/);
});
