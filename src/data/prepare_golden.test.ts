// prepare against the golden recorded with the in-memory prepare (fixtures/prepare_golden.ts): the same
// documents in the same splits, order and shards, the same texts, tokenizer and token ids — in this thread,
// and with worker threads and a spill budget a couple of hundred times smaller than the corpus (many runs, several
// merge passes), where memory stays within the budget.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { GOLDEN_FILE, summarizeDataset, writeGoldenCorpus, type Golden } from './fixtures/prepare_golden.ts';
import { prepareDataset } from './prepare.ts';
import { readTokenShard } from './shards.ts';
import { readManifest } from './manifest.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'lrnn-golden-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const golden = JSON.parse(readFileSync(GOLDEN_FILE, 'utf8')) as Golden;

test('prepare makes what the in-memory prepare made: splits, order, shards, texts, tokenizer, token ids', async () => {
  const o = await writeGoldenCorpus(path.join(tmp, 'a'));
  const r = await prepareDataset(o);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(await summarizeDataset(o.out), golden);
  // Compact ids: the 320-id vocabulary is stored as uint16.
  const m = readManifest(o.out)!;
  for await (const b of readTokenShard(path.join(o.out, m.domains.prose!.splits.train.tokenShards![0]!.file))) assert.ok(b.values instanceof Uint16Array);
  assert.equal(r.pretokenize!.dtype, 'uint16');
});

test('the same with 2 worker threads and a spill budget ~200x smaller than the corpus (memory-bound)', async () => {
  const o = await writeGoldenCorpus(path.join(tmp, 'b'));
  const spillMb = 0.001;
  const r = await prepareDataset({ ...o, workers: 2, spillMb, mergeFanIn: 4 });
  assert.deepEqual(r.errors, []);
  assert.deepEqual(await summarizeDataset(o.out), golden);
  const text = golden.domains.prose!;
  const proseBytes = Object.values(text.splits).reduce((a, s) => a + s.textBytes, 0);
  const spill = r.domains.prose!.spill!;
  assert.ok(proseBytes > 100 * spillMb * 1e6, `corpus ${proseBytes} B vs budget ${spillMb * 1e6} B`);
  assert.ok(spill.runs >= 50, `${spill.runs} runs`);
  assert.ok(spill.mergePasses >= 2, `${spill.mergePasses} merge passes`);
  // The budget plus one document (the fixture's longest is under 6 kB with its overhead).
  assert.ok(spill.maxBufferedBytes <= spillMb * 1e6 + 6000, `held ${spill.maxBufferedBytes} B`);
});
