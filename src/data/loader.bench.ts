// loader.pretokenized: tokens/s the training stream delivers from pre-tokenised shards (mixing, shuffle
// window, packing, rank bookkeeping included). Uses data/lrnn-mix when prepared, else a generated dataset.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bench } from '../testing/bench_harness.ts';
import { prepareTinyDataset } from './fixtures/tiny_corpus.ts';
import { openTrainStream } from './loader.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const benches: Bench[] = [
  {
    name: 'loader.pretokenized',
    async run() {
      let dir = path.join(root, 'data/lrnn-mix');
      let tmp: string | null = null;
      let source = 'data/lrnn-mix (text 0.4, code 0.3, math 0.3)';
      let domains: Record<string, number> | undefined = { text: 0.4, code: 0.3, math: 0.3 };
      if (!existsSync(path.join(dir, 'manifest.json'))) {
        tmp = mkdtempSync(path.join(tmpdir(), 'lrnn-bench-'));
        dir = await prepareTinyDataset(tmp, { shardMb: 0.05 });
        source = 'generated tiny dataset (run lrnn prepare for real data)';
        domains = undefined;
      }
      const T = 1024, B = 8, N = 400;
      const s = await openTrainStream({ dir, ...(domains ? { domains } : {}), seqLen: T, batchSize: B, seed: 1, prefetch: 4 });
      await s.next();
      const t0 = performance.now();
      for (let i = 0; i < N; ++i) await s.next();
      const sec = (performance.now() - t0) / 1000;
      const wait = s.waitMs();
      await s.close();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
      const tokens = N * B * T;
      return { name: 'loader.pretokenized', value: tokens / sec, unit: 'tokens/s', tokens, seqLen: T, batch: B, batches: N, waitMs: wait, source, target: 1e6 };
    },
  },
];
