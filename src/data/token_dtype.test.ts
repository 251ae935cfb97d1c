// Compact token shards: a dataset written with uint16 ids, the same dataset rewritten with uint32 ids, and in
// the layout of earlier versions (uncompressed .arrows text shards, int32 ids) give identical training
// batches (several ranks, shuffle, on-the-fly tokenisation) and evaluation windows.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { prepareTinyDataset } from './fixtures/tiny_corpus.ts';
import { openEvalStream, openTrainStream, type TrainStreamOptions } from './loader.ts';
import { readManifest } from './manifest.ts';
import { readTextShard, readTokenShard, writeTextShard, writeTokenShard, type TokenArray, type TokenDtype } from './shards.ts';
import { SPLITS } from './split.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'lrnn-dtype-'));
let dir = '';
const copies: Record<string, string> = {};
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A copy of the dataset with token shards rewritten as `dtype` (and, for 'old', uncompressed text shards). */
async function rewrite(name: string, dtype: TokenDtype, oldText: boolean): Promise<string> {
  const out = path.join(tmp, name);
  cpSync(dir, out, { recursive: true });
  const m = readManifest(out)!;
  for (const e of Object.values(m.domains)) {
    for (const s of SPLITS) {
      const sp = e.splits[s];
      for (const [i, sh] of sp.tokenShards!.entries()) {
        const docs: TokenArray[] = [], ids: string[] = [];
        for await (const b of readTokenShard(path.join(out, sh.file))) {
          for (let r = 0; r < b.rows; ++r) docs.push(b.values.slice(b.offsets[r]!, b.offsets[r + 1]!));
        }
        for await (const row of readTextShard(path.join(out, sp.shards[i]!.file))) ids.push(row.docId);
        const info = await writeTokenShard(path.join(out, sh.file), docs, ids, {}, dtype);
        sp.tokenShards![i] = { ...sh, bytes: info.bytes, sha256: info.sha256 };
        if (oldText) {
          const rows = [];
          for await (const row of readTextShard(path.join(out, sp.shards[i]!.file))) rows.push({ text: row.text, source: row.source, docId: row.docId });
          const file = sp.shards[i]!.file.replace(/\.arrows\.gz$/, '.arrows');
          rmSync(path.join(out, sp.shards[i]!.file));
          const t = await writeTextShard(path.join(out, file), rows);
          sp.shards[i] = { ...sp.shards[i]!, file, bytes: t.bytes, sha256: t.sha256 };
        }
      }
    }
  }
  writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(m, null, 1));
  return out;
}

before(async () => {
  dir = await prepareTinyDataset(tmp);
  copies.uint32 = await rewrite('u32', 'uint32', false);
  copies.old = await rewrite('old', 'int32', true);
});

async function firstValues(d: string): Promise<TokenArray> {
  const m = readManifest(d)!;
  for await (const b of readTokenShard(path.join(d, m.domains.prose!.splits.train.tokenShards![0]!.file))) return b.values;
  throw new Error('empty shard');
}

async function batches(opts: TrainStreamOptions, n: number): Promise<string[]> {
  const s = await openTrainStream(opts);
  const out: string[] = [];
  for (let i = 0; i < n; ++i) out.push(Array.from((await s.next()).tokens).join(','));
  await s.close();
  return out;
}

test('the shards hold the types they claim', async () => {
  assert.ok((await firstValues(dir)) instanceof Uint16Array);
  assert.ok((await firstValues(copies.uint32!)) instanceof Uint32Array);
  assert.ok((await firstValues(copies.old!)) instanceof Int32Array);
});

test('uint16, uint32 and old int32 datasets give the same training batches on every rank', async () => {
  for (const [rank, world] of [[0, 1], [1, 2]] as const) {
    const o = { domains: { prose: 0.5, more: 0.5 }, seqLen: 24, batchSize: 3, seed: 3, shuffleWindow: 4, rank, worldSize: world };
    const want = await batches({ dir, ...o }, 40);
    assert.ok(want.some((b) => b !== want[0]));
    for (const d of Object.values(copies)) assert.deepEqual(await batches({ dir: d, ...o }, 40), want, `${d} rank ${rank}/${world}`);
    // On-the-fly tokenisation from gzip and from uncompressed text shards agrees with the token shards.
    const tok = path.join(dir, 'tokenizer.json');
    assert.deepEqual(await batches({ dir, ...o, tokenizer: tok }, 40), want);
    assert.deepEqual(await batches({ dir: copies.old!, ...o, tokenizer: tok }, 40), want);
  }
});

test('and the same evaluation windows', async () => {
  const windows = async (d: string) => {
    const out: string[] = [];
    for await (const w of openEvalStream({ dir: d, domain: 'more', split: 'validation', seqLen: 16 })) out.push(Array.from(w.tokens).join(','));
    return out;
  };
  const want = await windows(dir);
  assert.ok(want.length > 3);
  for (const d of Object.values(copies)) assert.deepEqual(await windows(d), want);
});
