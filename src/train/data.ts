// The run's data from its [data] and [eval] sections: the training stream of src/data's loader (mixing
// domains by weight, seeded shuffle, resumable cursor) behind the trainer's BatchSource, and fixed
// validation batches per split behind EvalData. The loader's full cursor rides inside trainer_state.json's
// data_cursor (`loader`), next to the §11 fields.
import path from 'node:path';
import { checkShardSizes, openEvalStream, openTrainStream, readManifest, shardsOf, verifyShardHashes, type LoaderCursor } from '../data/index.ts';
import { rankBatchSize, type RunConfig } from '../config/schema.ts';
import { loadTokenizer } from '../tokenizer/tokenizer_json.ts';
import type { BatchSource, DataCursor, EvalData, TokenBatch } from './sources.ts';

export interface RunData {
  data: BatchSource;
  evalData: EvalData;
  vocabSize: number;
  tokenizerFile: string;
  /** UTF-8 bytes of a token id (exact bits per byte). */
  tokenBytes: (id: number) => number;
}

/** An error about the run's data that names the recipe key (the CLI reports it with exit code 2). */
export class DataConfigError extends Error {
  override name = 'DataConfigError';
}

/**
 * Opens the training stream (at `cursor` when resuming; this rank's shard of every global batch) and the
 * validation data (the same on every rank).
 */
export async function openRunData(cfg: RunConfig, cursor?: DataCursor, shard: { rank: number; worldSize: number } = { rank: 0, worldSize: 1 }, check: { verify?: boolean; onVerify?: (done: number, total: number) => void } = {}): Promise<RunData> {
  const dir = cfg.data.dir;
  const m = readManifest(dir);
  if (!m) throw new DataConfigError(`data.dir: '${dir}' has no manifest.json — run 'lrnn prepare --out ${dir}' first`);
  if (!m.tokenizer) throw new DataConfigError(`data.dir: '${dir}' has no tokenizer in its manifest — re-run 'lrnn prepare --out ${dir}'`);
  for (const [key, list] of [['data.domains', cfg.data.domains], ['eval.splits', cfg.eval.splits]] as const) {
    for (const d of list) if (!m.domains[d]) throw new DataConfigError(`${key}: '${d}' is not a domain of ${dir} (have: ${Object.keys(m.domains).join(', ')})`);
  }
  // Every shard the run will read (train split of its domains, validation split of its eval splits) is
  // checked before the first step: sizes always, sha256 with verify. The loader opens below are told so
  // (verified), so each shard is stat-checked once.
  const used = [...shardsOf(m, cfg.data.domains, ['train']), ...shardsOf(m, cfg.eval.splits, ['validation'])];
  if (check.verify) await verifyShardHashes(dir, used, check.onVerify);
  else checkShardSizes(dir, used);
  const weights = Object.fromEntries(cfg.data.domains.map((d, i) => [d, cfg.data.weights?.[i] ?? 1]));
  // B sequences a step; this rank's share of them is what its loader takes. Validation batches stay B wide,
  // the same on every rank and for any number of ranks.
  const T = cfg.data.seq_len, B = cfg.train.batch_size;
  const rankB = rankBatchSize(cfg.train, shard.worldSize);
  const loaderCursor = cursor?.loader as LoaderCursor | undefined;
  const stream = await openTrainStream({ dir, domains: weights, seqLen: T, batchSize: rankB, seed: cfg.train.seed, verified: true, ...shard, ...(loaderCursor ? { cursor: loaderCursor } : {}) });
  const source = path.basename(path.resolve(dir));
  const data: BatchSource = {
    async next(): Promise<TokenBatch> {
      const b = await stream.next();
      return { tokens: b.tokens, rows: b.batch, width: b.seqLen + 1 };
    },
    cursor(): DataCursor {
      const c = stream.cursor();
      // §11 fields: the mixed stream is one sequence of slots of T tokens each.
      return { source, epoch: 0, offset: c.slot * T, order_seed: c.seed, loader: c };
    },
    close: () => stream.close(),
  };
  const tokenizerFile = path.join(dir, m.tokenizer.file);
  const tok = loadTokenizer(tokenizerFile);
  const cache = new Map<string, TokenBatch[]>();
  const evalData: EvalData = {
    splits: () => cfg.eval.splits.slice(),
    async *batches(split: string, maxBatches: number) {
      let list = cache.get(split);
      if (!list) {
        // Full-length windows only, grouped B at a time: the same fixed batches at every evaluation.
        list = [];
        let rows: Int32Array[] = [];
        for await (const w of openEvalStream({ dir, domain: split, seqLen: T, maxWindows: maxBatches * B + 1, verified: true })) {
          if (w.tokens.length !== T + 1) continue;
          rows.push(w.tokens);
          if (rows.length === B) {
            const t = new Int32Array(B * (T + 1));
            rows.forEach((r, i) => t.set(r, i * (T + 1)));
            list.push({ tokens: t, rows: B, width: T + 1 });
            rows = [];
            if (list.length === maxBatches) break;
          }
        }
        if (list.length === 0) throw new DataConfigError(`eval.splits: '${split}' has fewer than ${B} validation windows of ${T + 1} tokens in ${dir} (lower train.batch_size or data.seq_len)`);
        cache.set(split, list);
      }
      yield* list.slice(0, maxBatches);
    },
  };
  return { data, evalData, vocabSize: stream.vocabSize, tokenizerFile, tokenBytes: (id) => tok.tokenByteLength(id) };
}
