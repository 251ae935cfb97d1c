// tokenizer.encode: MB/s of our byte-level BPE encoder (memo cache per pre-token) on prose, one thread,
// starting from an empty cache. Uses the prepared dataset (data/lrnn-mix: its tokenizer and text domain)
// when present, else generated prose and a tokenizer trained on it. It lives in data/, not tokenizer/,
// because it reads the prepared shards through data's readers (data sits above the tokenizer).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import type { Bench } from '../testing/bench_harness.ts';
import { byteLevelTokenizerJson, tokenizerFromJson } from '../tokenizer/tokenizer_json.ts';
import { trainBpeOnTexts } from '../tokenizer/trainer.ts';
import { makeDoc } from './fixtures/tiny_corpus.ts';
import { readManifest } from './manifest.ts';
import { readTextShard } from './shards.ts';
import { prng } from './token_stream.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function prose(limit: number): Promise<{ docs: string[]; tokenizerJson: string; source: string }> {
  const dir = path.join(root, 'data/lrnn-mix');
  const m = existsSync(path.join(dir, 'manifest.json')) ? readManifest(dir) : null;
  const { readFileSync } = await import('node:fs');
  if (m?.tokenizer && m.domains.text) {
    const docs: string[] = [];
    let bytes = 0;
    outer: for (const sh of m.domains.text.splits.train.shards) {
      for await (const r of readTextShard(path.join(dir, sh.file))) {
        docs.push(r.text);
        bytes += r.text.length;
        if (bytes >= limit) break outer;
      }
    }
    return { docs, tokenizerJson: readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'), source: 'data/lrnn-mix text (Gutenberg + SOTU)' };
  }
  const r = prng(1);
  const docs = Array.from({ length: Math.ceil(limit / 6000) }, () => makeDoc(r, 1000));
  const tr = trainBpeOnTexts(docs.slice(0, 200), { vocabSize: 4096 });
  return { docs, tokenizerJson: byteLevelTokenizerJson(tr.vocab, tr.merges, tr.specials), source: 'generated prose (run lrnn prepare for real text)' };
}

export const benches: Bench[] = [
  {
    name: 'tokenizer.encode',
    async run() {
      const { docs, tokenizerJson, source } = await prose(8e6);
      const bytes = docs.reduce((a, d) => a + Buffer.byteLength(d), 0);
      const runs: number[] = [];
      const cpuRuns: number[] = [];
      let tokens = 0;
      for (let rep = 0; rep < 3; ++rep) {
        const tok = tokenizerFromJson(JSON.parse(tokenizerJson)); // fresh, empty memo cache
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        tokens = 0;
        for (const d of docs) tokens += tok.encodeOrdinary(d).length;
        runs.push(performance.now() - t0);
        const c = process.cpuUsage(c0);
        cpuRuns.push((c.user + c.system) / 1000);
      }
      const best = Math.min(...runs);
      // Per core = bytes per CPU second of this process (GC threads included), which other jobs sharing the
      // cores do not distort; wall-clock MB/s is reported beside it.
      const bestCpu = Math.min(...cpuRuns);
      // Reference: @huggingface/tokenizers on the first ~1 MB.
      const hf = new HfTokenizer(JSON.parse(tokenizerJson), {});
      let refBytes = 0;
      const t1 = performance.now();
      for (const d of docs) {
        hf.encode(d, { add_special_tokens: false });
        refBytes += Buffer.byteLength(d);
        if (refBytes > 1e6) break;
      }
      const hfMBs = refBytes / 1e6 / ((performance.now() - t1) / 1000);
      return { name: 'tokenizer.encode', value: bytes / 1e6 / (bestCpu / 1000), unit: 'MB/s', measure: 'per core (bytes / process CPU s)', wallMBs: bytes / 1e6 / (best / 1000), bytes, tokens, bytesPerToken: bytes / tokens, threads: 1, cache: 'cold start, memo per pre-token', source, hfTokenizersMBs: hfMBs, target: 10 };
    },
  },
];
