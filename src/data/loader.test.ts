// The streaming loader: packing with end-of-text separators, resume from a JSON cursor equals the
// uninterrupted stream, ranks split every sequence exactly once, domain weights, on-the-fly tokenisation,
// eval windows, and a damaged shard is an error naming the file.
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdtempSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { prepareTinyDataset } from './fixtures/tiny_corpus.ts';
import { openEvalStream, openTrainStream, type TrainStreamOptions } from './loader.ts';
import { readManifest } from './manifest.ts';
import { readTokenShard } from './shards.ts';
import { hash32, permutation } from './token_stream.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'lrnn-loader-'));
let dir = '';
before(async () => {
  dir = await prepareTinyDataset(tmp);
});
after(() => rmSync(tmp, { recursive: true, force: true }));

async function batches(opts: TrainStreamOptions, n: number): Promise<Int32Array[]> {
  const s = await openTrainStream(opts);
  const out: Int32Array[] = [];
  for (let i = 0; i < n; ++i) out.push((await s.next()).tokens);
  await s.close();
  return out;
}

const rowsOf = (b: Int32Array, T: number) => Array.from({ length: b.length / (T + 1) }, (_, i) => Array.from(b.subarray(i * (T + 1), (i + 1) * (T + 1))).join(','));

/** One domain's split as the loader sees it: documents + EOS, in the epoch's shard order. */
async function domainStream(domain: string, split: 'train' | 'validation', epoch: number | null, seed = 0): Promise<number[]> {
  const m = readManifest(dir)!;
  const shards = m.domains[domain]!.splits[split].tokenShards!;
  const order = epoch === null ? shards.map((_, i) => i) : Array.from(permutation(shards.length, hash32(seed, domain, 'epoch', epoch)));
  const out: number[] = [];
  for (const i of order) {
    for await (const b of readTokenShard(path.join(dir, shards[i]!.file))) {
      for (let r = 0; r < b.rows; ++r) out.push(...b.values.subarray(b.offsets[r]!, b.offsets[r + 1]!), m.tokenizer!.eosId);
    }
  }
  return out;
}

test('batches are [B, T+1] packed from the domain stream with stride T (no shuffle)', async () => {
  const T = 16, B = 3;
  const [b0, b1] = await batches({ dir, domains: { prose: 1 }, seqLen: T, batchSize: B, shuffleWindow: 1 }, 2);
  const stream = await domainStream('prose', 'train', 0);
  const rows = [...rowsOf(b0!, T), ...rowsOf(b1!, T)];
  rows.forEach((r, k) => assert.equal(r, stream.slice(k * T, k * T + T + 1).join(','), `sequence ${k}`));
  const m = readManifest(dir)!;
  assert.ok(stream.filter((t) => t === m.tokenizer!.eosId).length > 10, 'documents are separated by end-of-text');
});

test('resume from a JSON cursor continues exactly like the uninterrupted stream (across epochs, 2 domains)', async () => {
  const opts: TrainStreamOptions = { dir, domains: { prose: 0.6, more: 0.4 }, seqLen: 32, batchSize: 4, seed: 7, shuffleWindow: 5, prefetch: 3 };
  const m = readManifest(dir)!;
  const epochTokens = m.domains.more!.splits.train.tokens! + m.domains.more!.splits.train.rows;
  const n = Math.ceil((2.5 * epochTokens) / (32 * 4 * 0.4)); // 'more' wraps into its third epoch
  const full = await batches(opts, n);
  const s = await openTrainStream(opts);
  const part: Int32Array[] = [];
  const k = Math.floor(n / 2) + 1;
  for (let i = 0; i < k; ++i) part.push((await s.next()).tokens);
  const cursor = JSON.parse(JSON.stringify(s.cursor()));
  assert.ok(s.waitMs() >= 0);
  await s.close();
  const rest = await batches({ ...opts, cursor }, n - k);
  assert.equal(part.length + rest.length, full.length);
  [...part, ...rest].forEach((b, i) => assert.deepEqual(b, full[i], `batch ${i} differs after resume at ${k}`));
  assert.ok(cursor.domains.more.start.epoch >= 1, 'the resume point lies past the first epoch of domain more');
});

test('ranks split the sequences: no overlap, nothing dropped, same as one rank with B·W', async () => {
  const T = 8, B = 2, W = 3, N = 10, win = 4;
  const single = await batches({ dir, domains: { prose: 1 }, seqLen: T, batchSize: B * W, seed: 3, shuffleWindow: win }, N);
  const perRank = await Promise.all(Array.from({ length: W }, (_, r) => batches({ dir, domains: { prose: 1 }, seqLen: T, batchSize: B, seed: 3, shuffleWindow: win, rank: r, worldSize: W }, N)));
  for (let n = 0; n < N; ++n) {
    const rows = rowsOf(single[n]!, T);
    for (let r = 0; r < W; ++r) assert.deepEqual(rowsOf(perRank[r]![n]!, T), rows.slice(r * B, (r + 1) * B), `batch ${n} rank ${r}`);
  }
  // After the same number of batches every rank holds the same cursor.
  const cursors = await Promise.all([0, 1, 2].map(async (r) => {
    const s = await openTrainStream({ dir, domains: { prose: 1 }, seqLen: T, batchSize: B, seed: 3, shuffleWindow: win, rank: r, worldSize: W });
    for (let i = 0; i < 3; ++i) await s.next();
    const c = JSON.stringify(s.cursor());
    await s.close();
    return c;
  }));
  assert.equal(cursors[1], cursors[0]);
  assert.equal(cursors[2], cursors[0]);
  // Every sequence of the packed stream appears exactly once (S = N·B·W is a multiple of the window).
  const S = N * B * W;
  const stream = await domainStream('prose', 'train', 0, 3);
  assert.ok(stream.length > S * T + 1);
  const expected = Array.from({ length: S }, (_, k) => stream.slice(k * T, k * T + T + 1).join(',')).sort();
  const got = perRank.flatMap((bs) => bs.flatMap((b) => rowsOf(b, T))).sort();
  assert.deepEqual(got, expected);
});

test('domain weights set the mix; on-the-fly tokenisation equals the pre-tokenised shards', async () => {
  const T = 8, B = 20, N = 20;
  const s = await openTrainStream({ dir, domains: { prose: 3, more: 1 }, seqLen: T, batchSize: B, seed: 1 });
  let prose = 0;
  for (let i = 0; i < N; ++i) prose += (await s.next()).domains.filter((d) => d === 'prose').length;
  await s.close();
  assert.ok(Math.abs(prose / (B * N) - 0.75) < 0.06, `prose share ${prose / (B * N)}`);
  const pre = await batches({ dir, domains: { prose: 1, more: 1 }, seqLen: T, batchSize: 4, seed: 2 }, 6);
  const fly = await batches({ dir, domains: { prose: 1, more: 1 }, seqLen: T, batchSize: 4, seed: 2, tokenizer: path.join(dir, 'tokenizer.json') }, 6);
  assert.deepEqual(fly, pre);
});

test('eval windows cover the split once with stride T; ranks take alternate windows', async () => {
  const T = 24;
  const stream = await domainStream('more', 'validation', null);
  const wins: Int32Array[] = [];
  for await (const w of openEvalStream({ dir, domain: 'more', seqLen: T })) wins.push(w.tokens);
  assert.equal(wins.length, Math.ceil((stream.length - 1) / T));
  wins.forEach((w, i) => assert.deepEqual(Array.from(w), stream.slice(i * T, i * T + T + 1), `window ${i}`));
  const r1: number[] = [];
  for await (const w of openEvalStream({ dir, domain: 'more', seqLen: T, rank: 1, worldSize: 2 })) r1.push(w.index);
  assert.deepEqual(r1, wins.map((_, i) => i).filter((i) => i % 2 === 1));
});

test('opened directly, the train loader refuses a train shard whose size differs from the manifest', async () => {
  // A copy, so the other tests keep an intact dataset.
  const copy = path.join(tmp, 'wrong-size');
  cpSync(dir, copy, { recursive: true });
  const m = readManifest(copy)!;
  const sh = m.domains.prose!.splits.train.tokenShards![0]!;
  const file = path.join(copy, sh.file);
  appendFileSync(file, Buffer.alloc(7));
  await assert.rejects(openTrainStream({ dir: copy, domains: { prose: 1 }, seqLen: 8, batchSize: 2 }), (e: Error) => e.name === 'DatasetIntegrityError' && e.message.includes(file) && e.message.includes(`${sh.bytes + 7} bytes, the manifest says ${sh.bytes}`));
  // verified: true is the caller's word that it has checked (openRunData, lrnn eval): the loader does not stat again.
  const s = await openTrainStream({ dir: copy, domains: { prose: 1 }, seqLen: 8, batchSize: 2, verified: true });
  await s.close();
});

test('a truncated token shard stops the loader with an error naming the file', async () => {
  const m = readManifest(dir)!;
  const sh = m.domains.more!.splits.validation.tokenShards![0]!;
  const file = path.join(dir, sh.file);
  truncateSync(file, Math.floor(sh.bytes / 2));
  const it = openEvalStream({ dir, domain: 'more', seqLen: 8 });
  // Caught at open by the size check against the manifest (verify.ts), before any read.
  await assert.rejects((async () => { for await (const _ of it); })(), (e: Error) => e.message.includes(file) && /bytes, the manifest says .*the dataset is damaged/.test(e.message));
  await assert.rejects(openTrainStream({ dir, domains: { nope: 1 }, seqLen: 8, batchSize: 1 }), /no domain 'nope'/);
});
