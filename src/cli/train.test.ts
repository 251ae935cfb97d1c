// `lrnn train` as a user runs it: bad recipes exit 2 naming the key with nothing written; a tiny run on a
// prepared dataset prints its evaluation, refuses to overwrite itself and resumes with --resume.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import { prepareTinyDataset } from '../data/fixtures/tiny_corpus.ts';
import { readMetrics } from '../log/metrics.ts';

const BIN = path.resolve('bin/lrnn.js');
const lrnn = (args: string[]) => spawnSync(process.execPath, [BIN, 'train', ...args], { encoding: 'utf8', env: { ...process.env, LRNN_BACKEND: 'auto' } });

test('bad recipes: exit 2, the key path in the message, nothing written', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lrnn-cli-bad-'));
  const out = path.join(dir, 'out');
  const bad = path.join(dir, 'bad.toml');
  writeFileSync(bad, 'name = "bad"\n[model]\narch = "deltanet"\nsize = "tiny"\n[train]\nlr = "fast"\n');
  const cases: [string[], RegExp][] = [
    [['tiny', '--train.lrr=1', `--out_dir=${out}`], /train\.lrr/],
    [['tiny', '--train.steps=many', `--out_dir=${out}`], /train\.steps: expected number/],
    [[bad, `--out_dir=${out}`], /train\.lr: expected number, received string/],
    [['no-such-recipe', `--out_dir=${out}`], /recipe 'no-such-recipe' not found/],
    [[], /missing RECIPE/],
    [['--resume', path.join(dir, 'nothing')], /no config\.resolved\.toml/],
  ];
  for (const [args, re] of cases) {
    const r = lrnn(args);
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(existsSync(out), false, `${args.join(' ')} wrote ${out}`);
  }
});

let ds: string;
before(async () => {
  ds = await prepareTinyDataset(mkdtempSync(path.join(tmpdir(), 'lrnn-cli-ds-')));
});

test('tiny run on a prepared dataset: summary with the eval table; no overwrite; --resume continues', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'lrnn-cli-run-'));
  const common = [`--out_dir=${out}`, `--data.dir=${ds}`, '--data.domains=["prose","more"]', '--data.weights=[1,1]', '--eval.splits=["prose","more"]', '--eval.batches=1', '--data.seq_len=16'];
  const r = lrnn(['tiny', '--train.steps=6', '--train.warmup=1', '--checkpoint.every=3', ...common]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /completed at step 6/);
  assert.match(r.stdout, /split\s+tokens\s+loss\s+ppl\s+bpb/);
  assert.match(r.stdout, /prose\s+64\s/);
  const runDir = path.join(out, 'tiny');
  for (const f of ['config.resolved.toml', 'metrics.jsonl', 'train.log', 'checkpoint-6/model.safetensors', 'checkpoint-6/optimizer.safetensors', 'checkpoint-6/trainer_state.json', 'checkpoint-6/tokenizer.json', 'checkpoint-6/config.resolved.toml']) {
    assert.ok(existsSync(path.join(runDir, f)), `missing ${f}`);
  }
  const again = lrnn(['tiny', '--train.steps=6', ...common]);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /already has a run: continue it with --resume/);
  const flip = lrnn(['--resume', runDir, '--model.allow_neg_eigval=true']);
  assert.equal(flip.status, 2, flip.stderr);
  assert.match(flip.stderr, /different model settings \(allow_neg_eigval\)/);
  const res = lrnn(['--resume', runDir, '--train.steps=9', '--json']);
  assert.equal(res.status, 0, res.stderr);
  assert.equal(JSON.parse(res.stdout).step, 9); // stdout is the JSON alone; logs went to stderr
  const steps = readMetrics(path.join(runDir, 'metrics.jsonl')).filter((x) => x.kind === 'step').map((x) => x.step);
  assert.deepEqual(steps, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
});
