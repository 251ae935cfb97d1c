// A checkpoint folder scored on named token streams, as one lrnn-eval result: shared by `lrnn eval` and the
// closing table of `lrnn train`, so the table a run ends with is the number `lrnn eval` gives for the same
// checkpoint, data and token budget.
// Test: node scripts/test.mjs src/eval/eval_cli
import { loadCheckpoint, readConfig } from '../models/checkpoint.ts';
import type { ModelConfig } from '../models/config.ts';
import type { TextTokenizer } from '../tokenizer/bpe.ts';
import { evaluateStreams, trainerFacts } from './evaluate.ts';
import type { EvalResultFile, SplitResult } from './results.ts';
import type { SplitStream } from './splits.ts';

export interface CheckpointEvalOptions {
  /** 'test' or 'validation' for prepared splits, 'files' for user files. */
  subset: string;
  seqLen: number;
  stride: number;
  batchSize: number;
  buckets: number[];
  maxTokens?: number;
  tokenizer: TextTokenizer | null;
  onSplit?: (name: string, r: SplitResult, seconds: number) => void;
  /** The checkpoint's config.json, when the caller has already read it (lrnn eval does, to fail fast): not read again. */
  config?: ModelConfig;
}

/** Loads the checkpoint at `dir`, scores every stream, and returns the result file's content. */
export function evaluateCheckpoint(dir: string, streams: SplitStream[], o: CheckpointEvalOptions): EvalResultFile {
  const config = o.config ?? readConfig(dir);
  const facts = trainerFacts(dir);
  const model = loadCheckpoint(dir, config);
  const parameters = model.numParameters();
  const t0 = performance.now();
  let splits;
  try {
    splits = evaluateStreams(model, streams, {
      seqLen: o.seqLen, stride: o.stride, batchSize: o.batchSize, buckets: o.buckets, tokenizer: o.tokenizer,
      ...(o.maxTokens !== undefined ? { maxTokens: o.maxTokens } : {}), ...(o.onSplit ? { onSplit: o.onSplit } : {}),
    });
  } finally {
    model.dispose();
  }
  const evalS = (performance.now() - t0) / 1000;
  const scored = Object.values(splits).reduce((a, s) => a + s.tokens, 0);
  return {
    format: 'lrnn-eval', version: 1, checkpoint: dir, model_type: config.model_type, allow_neg_eigval: config.allow_neg_eigval,
    parameters, step: facts.step, tokens_seen: facts.tokensSeen,
    subset: o.subset, seq_len: o.seqLen, stride: o.stride, max_tokens: o.maxTokens ?? null, batch_size: o.batchSize, buckets: o.buckets, splits,
    perf: { eval_s: evalS, tokens_per_s: evalS > 0 ? scored / evalS : 0 },
  };
}
