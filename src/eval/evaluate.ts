// Evaluates a model on named token streams (one per split) with the shared perplexity code, and finds the
// checkpoint folder to evaluate inside a run folder. Used by `lrnn eval`; the trainer calls
// evaluatePerplexity directly on its validation windows.
// Test: node scripts/test.mjs src/eval/eval_cli
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { TextTokenizer } from '../tokenizer/bpe.ts';
import { type LogitModel, evaluatePerplexity, makeWindows } from './perplexity.ts';
import type { SplitResult } from './results.ts';
import type { SplitStream } from './splits.ts';

export interface StreamEvalOptions {
  seqLen: number;
  /** Default seqLen (non-overlapping windows). */
  stride?: number;
  /** Scored targets per split at most. */
  maxTokens?: number;
  batchSize?: number;
  buckets?: number[];
  /** For bits per byte (token byte lengths, §10.3); bpb is null without it. */
  tokenizer?: TextTokenizer | null;
  onSplit?: (name: string, r: SplitResult, seconds: number) => void;
}

/** Perplexity, bits per byte and position buckets for each stream, keyed by stream name. */
export function evaluateStreams(model: LogitModel, streams: SplitStream[], o: StreamEvalOptions): Record<string, SplitResult> {
  const out: Record<string, SplitResult> = {};
  const tok = o.tokenizer ?? null;
  for (const s of streams) {
    const t0 = performance.now();
    if (s.tokens.length < 2) throw new Error(`split '${s.name}' (${s.source}): only ${s.tokens.length} token(s), nothing to score`);
    const r = evaluatePerplexity(model, makeWindows(s.tokens, o.seqLen, o.stride ?? o.seqLen, o.maxTokens ?? Infinity), {
      ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}),
      ...(o.buckets ? { buckets: o.buckets } : {}),
      ...(tok ? { tokenBytes: (id: number) => tok.tokenByteLength(id) } : {}),
    });
    const res: SplitResult = { ...r, source: s.source, truncated: s.truncated || (o.maxTokens !== undefined && s.tokens.length > o.maxTokens + 1), bytes_exact: tok?.kind === 'byte_level_bpe' };
    out[s.name] = res;
    o.onSplit?.(s.name, res, (performance.now() - t0) / 1000);
  }
  return out;
}

/**
 * The checkpoint folder to evaluate: DIR itself when it has config.json; inside a run folder, its
 * checkpoint-best/ when present, else the checkpoint-<step>/ with the largest step. Null when none.
 */
export function resolveCheckpointDir(dir: string): string | null {
  if (existsSync(path.join(dir, 'config.json'))) return dir;
  if (!existsSync(dir)) return null;
  const best = path.join(dir, 'checkpoint-best');
  if (existsSync(path.join(best, 'config.json'))) return best;
  let pick: { step: number; dir: string } | null = null;
  for (const n of readdirSync(dir)) {
    const m = /^checkpoint-(\d+)$/.exec(n);
    if (m && existsSync(path.join(dir, n, 'config.json')) && (!pick || Number(m[1]) > pick.step)) pick = { step: Number(m[1]), dir: path.join(dir, n) };
  }
  return pick?.dir ?? null;
}

/** step, tokens_seen, the training seq_len and data folder from trainer_state.json, when the folder has one. */
export function trainerFacts(dir: string): { step: number | null; tokensSeen: number | null; seqLen: number | null; dataDir: string | null } {
  const file = path.join(dir, 'trainer_state.json');
  if (!existsSync(file)) return { step: null, tokensSeen: null, seqLen: null, dataDir: null };
  let s: { step?: unknown; tokens_seen?: unknown; batch?: { seq_len?: unknown }; run_config?: { data?: { seq_len?: unknown; dir?: unknown } } };
  try {
    s = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const int = (v: unknown) => (Number.isInteger(v) ? (v as number) : null);
  const dataDir = s.run_config?.data?.dir;
  return { step: int(s.step), tokensSeen: int(s.tokens_seen), seqLen: int(s.batch?.seq_len) ?? int(s.run_config?.data?.seq_len), dataDir: typeof dataDir === 'string' ? dataDir : null };
}
