// The closing table of `lrnn train` is `lrnn eval --max-tokens N` on the run's checkpoint: same tokens, same
// numbers, saved in RUN_DIR/eval/ for lrnn compare; a budget smaller than the split cuts it and says so.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { prepareTinyDataset } from '../data/fixtures/tiny_corpus.ts';

const BIN = path.resolve('bin/lrnn.js');
const lrnn = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

test('lrnn train ends with the test-split table of lrnn eval --max-tokens N, cut at N tokens per split', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'lrnn-closing-'));
  const ds = await prepareTinyDataset(path.join(root, 'ds'));
  const N = 1000; // below both test splits of the tiny dataset, so the cut shows
  const r = lrnn(['train', 'tiny', `--out_dir=${root}`, `--data.dir=${ds}`, '--data.domains=["prose","more"]', '--data.weights=[1,1]', '--eval.splits=["prose","more"]',
    '--eval.batches=1', '--data.seq_len=16', '--log.progress=false', '--train.steps=3', `--eval.final_tokens=${N}`, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const runDir = path.join(root, 'tiny');
  const e = lrnn(['eval', '--checkpoint', runDir, '--data-dir', ds, '--splits', 'prose,more', '--max-tokens', String(N), '--json', '--out', path.join(root, 'e.json')]);
  assert.equal(e.status, 0, e.stderr);
  const ev = JSON.parse(e.stdout);
  for (const split of ['prose', 'more']) {
    assert.equal(out.test[split].tokens, N);
    assert.equal(out.test[split].truncated, true);
    assert.equal(out.test[split].nll, ev.splits[split].nll, `${split}: closing table and lrnn eval disagree`);
  }
  const saved = JSON.parse(readFileSync(out.test_file, 'utf8'));
  assert.equal(path.dirname(out.test_file), path.join(runDir, 'eval'));
  assert.equal(saved.subset, 'test');
  assert.equal(saved.max_tokens, N);
  assert.deepEqual(Object.keys(saved.splits), ['prose', 'more']);
});
