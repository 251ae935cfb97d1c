// The trainer on src/data's real loader (a tiny prepared dataset): resume after a kill gives the metrics of
// the unbroken run through the loader's cursor, and data errors name the recipe key.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import { initBackend } from '../backend/index.ts';
import { loadConfig } from '../config/load.ts';
import { prepareTinyDataset } from '../data/fixtures/tiny_corpus.ts';
import { readMetrics, toJsonLine, withoutPerf } from '../log/metrics.ts';
import { latestCheckpoint } from './checkpointing.ts';
import { openRunData } from './data.ts';
import { modelConfigFromRecipe } from '../models/config.ts';
import type { DataCursor } from './sources.ts';
import { train } from './trainer.ts';

let ds: string;
before(async () => {
  await initBackend();
  ds = await prepareTinyDataset(mkdtempSync(path.join(tmpdir(), 'lrnn-train-ds-')));
});

const cfgFor = (out: string, extra: string[] = []) => loadConfig('tiny', [`--out_dir=${out}`, `--data.dir=${ds}`, '--data.domains=["prose","more"]', '--data.weights=[2,1]',
  '--eval.splits=["prose","more"]', '--train.steps=8', '--train.warmup=2', '--checkpoint.every=4', '--eval.batches=1', '--data.seq_len=16', ...extra]).config;

async function run(out: string, opts: { stopAfterStep?: number; resume?: boolean } = {}) {
  const config = cfgFor(out);
  const runDir = path.join(out, config.name);
  const resume = opts.resume ? latestCheckpoint(runDir) : undefined;
  const d = await openRunData(config, resume?.state.data_cursor as DataCursor | undefined);
  try {
    return await train({ config, runDir, modelConfig: modelConfigFromRecipe(config.model, d.vocabSize), data: d.data, evalData: d.evalData, tokenBytes: d.tokenBytes,
      tokenizer: { file: d.tokenizerFile }, ...(resume ? { resume } : {}), ...(opts.stopAfterStep ? { stopAfterStep: opts.stopAfterStep } : {}) });
  } finally {
    await d.data.close?.();
  }
}
const text = (out: string) => readMetrics(path.join(out, 'tiny', 'metrics.jsonl')).map((r) => toJsonLine(withoutPerf(r))).join('');

test('real loader: resume after step 4 (killed at 6) equals the unbroken run; bits per byte are reported', async () => {
  const a = mkdtempSync(path.join(tmpdir(), 'lrnn-train-a-')), b = mkdtempSync(path.join(tmpdir(), 'lrnn-train-b-'));
  const ra = await run(a);
  assert.equal(ra.status, 'completed');
  assert.ok(ra.lastEval!.prose!.bpb! > 0 && ra.lastEval!.more!.tokens === 4 * 16);
  const { state } = latestCheckpoint(path.join(a, 'tiny'));
  assert.equal(state.data_cursor.offset, 8 * 4 * 16);
  assert.ok((state.data_cursor as DataCursor & { loader: { slot: number } }).loader.slot === 32);
  const r1 = await run(b, { stopAfterStep: 6 });
  assert.equal(r1.status, 'interrupted');
  const r2 = await run(b, { resume: true });
  assert.equal(r2.status, 'completed');
  assert.equal(text(b), text(a));
});

test('data errors name the recipe key', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'lrnn-train-e-'));
  await assert.rejects(openRunData(cfgFor(out, ['--data.domains=["prose","nope"]', '--data.weights=[1,1]'])), /data\.domains: 'nope' is not a domain/);
  await assert.rejects(openRunData(cfgFor(out, ['--data.dir=/nonexistent/x'])), /data\.dir: '\/nonexistent\/x' has no manifest\.json/);
});
