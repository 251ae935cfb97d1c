// The trainer's periodic validation through the shared evaluator: per split, a bounded, fixed list of packed
// [rows, T+1] batches scored with evaluatePerplexity, giving the `splits` object of a metrics.jsonl eval
// record ({tokens, loss, ppl, bpb}). A drop-in for src/train/evaluate.ts's evaluateSplits with exact bits per
// byte when the token byte lengths are known (tokenizer.tokenByteLength), else the data's bytes-per-token.
// Test: node scripts/test.mjs src/eval/perplexity
import { type LogitModel, batchRowsAsWindows, evaluatePerplexity } from './perplexity.ts';

/** One packed batch: row-major [rows, width] token ids (width = T + 1). */
export interface PackedBatch {
  tokens: Int32Array;
  rows: number;
  width: number;
}

/** Validation data as the trainer holds it (src/train/sources.ts EvalData has this shape). */
export interface ValidationData {
  batches(split: string, maxBatches: number): AsyncIterable<PackedBatch> | Iterable<PackedBatch>;
  /** UTF-8 bytes per token of the split (an average), when exact byte counts are not available. */
  bytesPerToken?(split: string): number | undefined;
}

/** The per-split numbers of a metrics.jsonl eval record. */
export interface ValidationSplit {
  tokens: number;
  loss: number;
  ppl: number;
  bpb: number | null;
}

/**
 * Mean next-token loss, perplexity and bits per byte for each split over at most `maxBatches` batches.
 * With `tokenBytes`, bpb uses the exact bytes of the scored tokens; otherwise the split's bytesPerToken.
 */
export async function evaluateValidation(model: LogitModel, data: ValidationData, splits: readonly string[], maxBatches: number,
  opts: { tokenBytes?: (id: number) => number; batchSize?: number } = {}): Promise<Record<string, ValidationSplit>> {
  const out: Record<string, ValidationSplit> = {};
  for (const split of splits) {
    const batches: PackedBatch[] = [];
    for await (const b of data.batches(split, maxBatches)) batches.push(b);
    const r = evaluatePerplexity(model, batchRowsAsWindows(batches), {
      batchSize: opts.batchSize ?? Math.max(1, batches[0]?.rows ?? 1),
      ...(opts.tokenBytes ? { tokenBytes: opts.tokenBytes } : {}),
    });
    if (r.tokens === 0) throw new Error(`evaluation: split '${split}' has no validation batches`);
    let bpb = r.bpb;
    if (!opts.tokenBytes) {
      const bpt = data.bytesPerToken?.(split);
      bpb = bpt ? r.loss / Math.LN2 / bpt : null;
    }
    out[split] = { tokens: r.tokens, loss: r.loss, ppl: r.ppl, bpb };
  }
  return out;
}
