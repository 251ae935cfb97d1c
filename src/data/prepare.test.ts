// `prepare` end to end on local data (nothing is downloaded): a missing source is a clear error while the
// other domains still prepare; re-runs skip what verifies and rebuild what does not; an empty split and
// bad input are errors; pre-tokenisation in worker threads gives the same shards as in-thread.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { writeTinyCorpus } from './fixtures/tiny_corpus.ts';
import { readManifest } from './manifest.ts';
import { prepareDataset, type PrepareOptions } from './prepare.ts';
import type { SourceSpec } from './sources.ts';
import { loadTokenizer } from '../tokenizer/tokenizer_json.ts';
import { readTextShard, readTokenShard } from './shards.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'lrnn-prepare-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const local = writeTinyCorpus(path.join(tmp, 'local'), { seed: 5, docs: 80 });
const sources: SourceSpec[] = [
  { name: 'local-prose', domain: 'prose', registry: 'dir', pkg: local, version: '0', include: /\.txt$/ },
  { name: 'no-such-package', domain: 'code', registry: 'npm', pkg: 'lrnn-no-such-package', version: '9.9.9', include: /\.ts$/ },
];
const base = (out: string): PrepareOptions => ({ out, sources, sourcesDir: path.join(tmp, 'sources'), offline: true, vocabSize: 280, sampleMb: 1, shardMb: 0.005, fractions: { validation: 0.1, test: 0.1 }, workers: 0 });

test('a missing source fails its domain with how to get it; the other domain prepares; re-run skips', async () => {
  const out = path.join(tmp, 'ds1');
  const logs: string[] = [];
  const r = await prepareDataset({ ...base(out), log: (m) => logs.push(m) });
  assert.equal(r.domains.code!.status, 'failed');
  assert.match(r.errors.join('\n'), /lrnn-no-such-package@9\.9\.9.*npm pack lrnn-no-such-package@9\.9\.9/);
  assert.equal(r.domains.prose!.status, 'built');
  const m = readManifest(out)!;
  assert.deepEqual(Object.keys(m.domains), ['prose']);
  const p = m.domains.prose!;
  assert.equal(p.documents, 80);
  assert.equal(p.splits.train.rows + p.splits.validation.rows + p.splits.test.rows, 80);
  assert.ok(p.splits.train.shards.length > 1 && p.splits.train.tokenShards!.length === p.splits.train.shards.length);
  // Token shards hold exactly the tokenizer's encoding of the text shards.
  const tok = loadTokenizer(path.join(out, 'tokenizer.json'));
  assert.equal(tok.vocabSize, 280);
  const sh = p.splits.validation;
  const texts: string[] = [];
  for await (const row of readTextShard(path.join(out, sh.shards[0]!.file))) texts.push(row.text);
  const toks: number[][] = [];
  for await (const b of readTokenShard(path.join(out, sh.tokenShards![0]!.file))) for (let i = 0; i < b.rows; ++i) toks.push(Array.from(b.values.subarray(b.offsets[i]!, b.offsets[i + 1]!)));
  assert.deepEqual(toks, texts.map((t) => Array.from(tok.encodeOrdinary(t))));

  // Re-run: everything verifies and is skipped.
  const again = await prepareDataset(base(out));
  assert.equal(again.domains.prose!.status, 'up to date');
  assert.equal(again.tokenizer!.status, 'up to date');
  assert.equal(again.pretokenize!.shards, 0);
  assert.equal(again.totalTokens, r.totalTokens);

  // A damaged token shard is found by its checksum and rebuilt; nothing else is redone.
  const victim = path.join(out, p.splits.train.tokenShards![1]!.file);
  const bytes = readFileSync(victim);
  bytes[bytes.length - 20] ^= 0xff;
  writeFileSync(victim, bytes);
  const third = await prepareDataset(base(out));
  assert.equal(third.domains.prose!.status, 'up to date');
  assert.equal(third.pretokenize!.shards, p.splits.train.shards.length);
  assert.deepEqual(readFileSync(victim).equals(bytes), false);
  assert.equal(third.totalTokens, r.totalTokens);
});

test('pre-tokenising in worker threads writes the same token shards', async () => {
  const a = await prepareDataset({ ...base(path.join(tmp, 'ds-w0')), domains: ['prose'] });
  const b = await prepareDataset({ ...base(path.join(tmp, 'ds-w2')), domains: ['prose'], workers: 2 });
  const ma = readManifest(path.join(tmp, 'ds-w0'))!, mb = readManifest(path.join(tmp, 'ds-w2'))!;
  assert.equal(a.totalTokens, b.totalTokens);
  assert.deepEqual(ma.domains.prose!.splits.train.tokenShards!.map((s) => s.sha256), mb.domains.prose!.splits.train.tokenShards!.map((s) => s.sha256));
});

test('an empty split and bad input are errors naming the domain / file and row; --skip-bad counts', async () => {
  const one = path.join(tmp, 'one');
  writeTinyCorpus(one, { seed: 9, docs: 1 });
  const r = await prepareDataset({ ...base(path.join(tmp, 'ds-empty')), domains: [], inputs: [{ domain: 'tiny', path: one }] });
  assert.match(r.errors.join('\n'), /tiny: split '(validation|test|train)' is empty \(1 documents in total\)/);
  const bad = path.join(tmp, 'bad');
  writeTinyCorpus(bad, { seed: 3, docs: 40 });
  writeFileSync(path.join(bad, 'x.jsonl'), '{"text":"fine"}\n{oops\n');
  const r2 = await prepareDataset({ ...base(path.join(tmp, 'ds-bad')), domains: [], inputs: [{ domain: 'user', path: bad }] });
  assert.match(r2.errors.join('\n'), /x\.jsonl: line 2: malformed JSON/);
  const r3 = await prepareDataset({ ...base(path.join(tmp, 'ds-bad')), domains: [], inputs: [{ domain: 'user', path: bad }], skipBad: true });
  assert.deepEqual(r3.errors, []);
  assert.equal(readManifest(path.join(tmp, 'ds-bad'))!.domains.user!.skipped, 1);
  assert.equal(readManifest(path.join(tmp, 'ds-bad'))!.domains.user!.documents, 41);
});

test('the split of user files does not depend on where they live (doc ids are relative to the input)', async () => {
  const splitsOf = async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'lrnn-move-'));
    const input = writeTinyCorpus(path.join(root, 'notes'), { seed: 5, docs: 40 });
    const out = path.join(root, 'ds');
    const rep = await prepareDataset({ out, inputs: [{ domain: 'notes', path: input }], vocabSize: 300, sampleMb: 1, shardMb: 0.004,
      fractions: { validation: 0.1, test: 0.1 }, workers: 0, offline: true });
    assert.deepEqual(rep.errors, []);
    const m = readManifest(out)!;
    const splits = Object.fromEntries(Object.entries(m.domains.notes!.splits).map(([k, v]) => [k, v.shards.map((s) => s.sha256)]));
    rmSync(root, { recursive: true, force: true });
    return splits;
  };
  assert.deepEqual(await splitsOf(), await splitsOf());
});
