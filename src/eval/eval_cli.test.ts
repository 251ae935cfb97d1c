// `lrnn eval` end to end on a tiny checkpoint (lrnn init) and a tiny prepared dataset (lrnn prepare with a
// given byte-level tokenizer): exact byte counts, identical results twice, run-folder resolution, strided
// evaluation, user files, and bad input giving exit code 2 with a message naming the path.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { runCli as lrnn } from '../testing/cli.ts';
import { BYTE_TO_CHAR } from '../tokenizer/byte_level.ts';
import { byteLevelTokenizerJson } from '../tokenizer/tokenizer_json.ts';
import type { EvalResultFile } from './results.ts';
import { preparedSplitStream } from './splits.ts';

let dir = '';
const docs = Array.from({ length: 60 }, (_, i) => `Document ${i}: the quick brown fox — naïve café ${'jumps over the lazy dog. '.repeat(1 + (i % 3))}`);

const readResult = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as EvalResultFile;
const withoutPerf = (r: EvalResultFile) => ({ ...r, perf: null });

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'lrnn-eval-'));
  const vocab = Array.from({ length: 256 }, (_, b) => BYTE_TO_CHAR[b]!);
  writeFileSync(path.join(dir, 'tok.json'), byteLevelTokenizerJson(vocab, [], [{ id: 256, content: '<|endoftext|>' }]));
  writeFileSync(path.join(dir, 'docs.jsonl'), docs.map((text) => JSON.stringify({ text })).join('\n') + '\n');
  writeFileSync(path.join(dir, 'notes.txt'), 'Plain text file.\nWith two lines — and UTF-8: äöü.\n');
  const init = await lrnn('init', '--model', 'deltanet', '--size', 'tiny', '--out', path.join(dir, 'ckpt'), '--tokenizer', path.join(dir, 'tok.json'));
  assert.equal(init.code, 0, init.err);
  const prep = await lrnn('prepare', '--out', path.join(dir, 'ds'), '--input', `text=${path.join(dir, 'docs.jsonl')}`, '--tokenizer', path.join(dir, 'tok.json'),
    '--test-fraction', '0.3', '--val-fraction', '0.2', '--workers', '1');
  assert.equal(prep.code, 0, prep.err);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('eval on a prepared test split: exact bytes, table, identical results twice', async () => {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'ds', 'manifest.json'), 'utf8'));
  const test = manifest.domains.text.splits.test;
  const args = ['eval', '--checkpoint', path.join(dir, 'ckpt'), '--splits', 'text', '--data-dir', path.join(dir, 'ds'), '--seq-len', '32'];
  const a = await lrnn(...args, '--out', path.join(dir, 'a.json'));
  assert.equal(a.code, 0, a.err);
  assert.match(a.out, /split\s+tokens\s+bytes\s+loss\s+ppl\s+bpb\s+ppl@0–127\s+ppl@128\+/);
  const b = await lrnn(...args, '--out', path.join(dir, 'b.json'));
  assert.equal(b.code, 0, b.err);
  const ra = readResult(path.join(dir, 'a.json')), rb = readResult(path.join(dir, 'b.json'));
  assert.deepEqual(withoutPerf(ra), withoutPerf(rb), 'the same checkpoint and data give identical results');
  const t = ra.splits.text!;
  // Documents joined as doc EOS doc EOS …: every token but the first is scored; EOS counts 0 bytes and
  // every other token is one byte, so the scored bytes are the split's text bytes minus the first byte.
  assert.equal(t.tokens, test.tokens + test.rows - 1);
  assert.equal(t.bytes, test.textBytes - 1);
  assert.equal(t.bytes_exact, true);
  assert.ok(Math.abs(t.bpb! - t.nll / Math.LN2 / t.bytes!) < 1e-12);
  assert.ok(Math.abs(t.ppl - Math.exp(t.nll / t.tokens)) < 1e-9 * t.ppl);
  assert.ok(t.loss > 4 && t.loss < 7, `untrained loss near ln 257 = 5.55, got ${t.loss}`);
  assert.doesNotMatch(t.source, /re-tokenised/, 'same tokenizer as the dataset: the token shards are read');
  assert.equal(t.truncated, false);
  const cut = await lrnn(...args, '--max-tokens', '100', '--json', '--out', path.join(dir, 'cut.json'));
  assert.equal(cut.code, 0, cut.err);
  const tc = (JSON.parse(cut.out) as EvalResultFile).splits.text!;
  assert.equal(tc.tokens, 100);
  assert.equal(tc.truncated, true);
  const head = (await preparedSplitStream(path.join(dir, 'ds'), 'text', 'test', { maxTokens: 100 })).tokens;
  assert.equal(head.length, 101);
  assert.equal(tc.bytes, 100 - head.subarray(1).filter((id) => id === 256).length, 'one byte per scored token, 0 for EOS');
  assert.equal(ra.model_type, 'delta_net');
  assert.equal(ra.seq_len, 32);
  assert.equal(ra.stride, 32);
});

test('a checkpoint with another tokenizer re-tokenises the split text; bytes stay exact', async () => {
  const vocab = Array.from({ length: 256 }, (_, b) => BYTE_TO_CHAR[b]!);
  vocab.push('he', 'Ġt');
  const merges: [string, string][] = [['h', 'e'], ['Ġ', 't']];
  writeFileSync(path.join(dir, 'tok2.json'), byteLevelTokenizerJson(vocab, merges, [{ id: 258, content: '<|endoftext|>' }]));
  const init = await lrnn('init', '--model', 'deltanet', '--size', 'tiny', '--out', path.join(dir, 'ckpt2'), '--tokenizer', path.join(dir, 'tok2.json'));
  assert.equal(init.code, 0, init.err);
  const r = await lrnn('eval', '--checkpoint', path.join(dir, 'ckpt2'), '--splits', 'text', '--data-dir', path.join(dir, 'ds'), '--seq-len', '32', '--out', path.join(dir, 'd.json'));
  assert.equal(r.code, 0, r.err);
  const t = readResult(path.join(dir, 'd.json')).splits.text!;
  const test = JSON.parse(readFileSync(path.join(dir, 'ds', 'manifest.json'), 'utf8')).domains.text.splits.test;
  assert.match(t.source, /re-tokenised with the checkpoint tokenizer/);
  assert.ok(t.tokens < test.tokens + test.rows - 1, `merges make fewer tokens (${t.tokens})`);
  assert.ok(t.bytes === test.textBytes - 1 || t.bytes === test.textBytes - 2, `all bytes but the first token's, got ${t.bytes} of ${test.textBytes}`);
});

test('eval with a stride, on user files, and inside a run folder', async () => {
  const run = path.join(dir, 'run');
  cpSync(path.join(dir, 'ckpt'), path.join(run, 'checkpoint-5'), { recursive: true });
  cpSync(path.join(dir, 'ckpt'), path.join(run, 'checkpoint-10'), { recursive: true });
  const r = await lrnn('eval', '--checkpoint', run, '--data', path.join(dir, 'docs.jsonl'), '--data', path.join(dir, 'notes.txt'),
    '--seq-len', '48', '--stride', '16', '--max-tokens', '3000', '--buckets', '8,32', '--json', '--out', path.join(dir, 'c.json'));
  assert.equal(r.code, 0, r.err);
  const res = JSON.parse(r.out) as EvalResultFile;
  assert.equal(res.checkpoint, path.join(run, 'checkpoint-10'), 'the newest checkpoint of the run');
  assert.deepEqual(Object.keys(res.splits), ['docs', 'notes']);
  assert.equal(res.splits.docs!.tokens, 3000);
  assert.equal(res.splits.docs!.truncated, true);
  assert.deepEqual(res.splits.docs!.buckets.map((b) => [b.from, b.to]), [[0, 8], [8, 32], [32, null]]);
  assert.equal(res.splits.docs!.buckets[0]!.tokens, 8, 'only the first window scores positions 0–7 when stride 16 < seq-len 48');
  const notes = 'Plain text file.\nWith two lines — and UTF-8: äöü.\n';
  assert.equal(res.splits.notes!.bytes, Buffer.byteLength(notes, 'utf8') - 1, 'one file = one document; all bytes but the first');
  assert.equal(res.splits.notes!.truncated, false);
});

test('bad input: exit code 2 and a message naming the path', async () => {
  const ck = path.join(dir, 'ckpt');
  let r = await lrnn('eval', '--checkpoint', path.join(dir, 'nope'));
  assert.equal(r.code, 2);
  assert.match(r.err, /nope: no such folder/);
  r = await lrnn('eval', '--checkpoint', dir, '--data', path.join(dir, 'notes.txt'));
  assert.equal(r.code, 2);
  assert.match(r.err, /no config\.json there/);
  r = await lrnn('eval', '--checkpoint', ck, '--data', path.join(dir, 'missing.txt'));
  assert.equal(r.code, 2);
  assert.match(r.err, /missing\.txt: no such file/);
  r = await lrnn('eval', '--checkpoint', ck, '--splits', 'text', '--data-dir', path.join(dir, 'no-ds'));
  assert.equal(r.code, 2);
  assert.match(r.err, /no-ds: no manifest\.json/);
  r = await lrnn('eval', '--checkpoint', ck, '--splits', 'poetry', '--data-dir', path.join(dir, 'ds'));
  assert.equal(r.code, 2);
  assert.match(r.err, /no domain 'poetry'/);
  r = await lrnn('eval', '--checkpoint', ck, '--seq-len', '16', '--stride', '32', '--data', path.join(dir, 'notes.txt'));
  assert.equal(r.code, 2);
  assert.match(r.err, /--stride 32 must not exceed --seq-len 16/);
});
