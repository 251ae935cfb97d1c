// The table `lrnn train` ends with: the run's checkpoint scored on the test split of each eval split, a
// fixed token budget per split (eval.final_tokens, default 65,536) — the same computation and number as
// `lrnn eval --checkpoint RUN_DIR --max-tokens N`, and saved where `lrnn compare` finds it (RUN_DIR/eval/).
// A few thousand validation tokens (the periodic evaluation) swing too much to be read as the result.
import path from 'node:path';
import type { RunConfig } from '../config/schema.ts';
import { evaluateCheckpoint } from '../eval/checkpoint_eval.ts';
import { resolveCheckpointDir } from '../eval/evaluate.ts';
import { type EvalResultFile, evalTable, writeEvalResult } from '../eval/results.ts';
import { preparedSplitStream, type SplitStream } from '../eval/splits.ts';
import { TOKENIZER_FILE } from '../models/checkpoint.ts';
import { loadTokenizer } from '../tokenizer/tokenizer_json.ts';

export interface ClosingEval {
  result: EvalResultFile;
  file: string;
  /** The table, headed by what was scored and the equivalent lrnn eval command. */
  text: string;
}

/** Null when the run has no checkpoint or eval.final_tokens is 0. Errors (e.g. a domain without a test split) propagate. */
export async function closingEval(runDir: string, cfg: RunConfig): Promise<ClosingEval | null> {
  const n = cfg.eval.final_tokens;
  const dir = n > 0 ? resolveCheckpointDir(runDir) : null;
  if (!dir) return null;
  const tokFile = path.join(dir, TOKENIZER_FILE);
  const tokenizer = loadTokenizer(tokFile);
  const streams: SplitStream[] = [];
  for (const split of cfg.eval.splits) streams.push(await preparedSplitStream(cfg.data.dir, split, 'test', { maxTokens: n, tokenizer, tokenizerFile: tokFile }));
  const T = cfg.data.seq_len;
  const result = evaluateCheckpoint(dir, streams, { subset: 'test', seqLen: T, stride: T, batchSize: 8, buckets: [128], maxTokens: n, tokenizer });
  const file = path.join(runDir, 'eval', `${path.basename(dir)}-test.json`);
  writeEvalResult(file, result);
  const scored = Object.entries(result.splits).map(([k, s]) => `${k} ${s.tokens.toLocaleString('en-US')}${s.truncated ? '' : ' (whole split)'}`).join(', ');
  const head = `test perplexity of ${path.basename(dir)} — tokens scored: ${scored} (= lrnn eval --checkpoint ${runDir} --max-tokens ${n})`;
  return { result, file, text: `${head}\n${evalTable(result)}\nwrote ${file}` };
}
