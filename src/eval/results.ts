// The result file of `lrnn eval` (eval/results/*.json, or a run's eval/*.json), its table, and a validating
// reader for `lrnn compare`. Everything outside `perf` is deterministic: evaluating the same checkpoint on
// the same data twice gives the same file. Non-finite numbers are written as null.
// Test: node scripts/test.mjs src/eval/perplexity
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { PerplexityResult } from './perplexity.ts';
import { type Cell, textTable } from './table.ts';

export interface SplitResult extends PerplexityResult {
  /** Where the tokens came from. */
  source: string;
  /** The split was cut at max_tokens. */
  truncated: boolean;
  /** bytes is the exact UTF-8 size of the scored text (byte-level tokenizer), not an estimate. */
  bytes_exact: boolean;
}

export interface EvalResultFile {
  format: 'lrnn-eval';
  version: 1;
  checkpoint: string;
  model_type: string;
  allow_neg_eigval: boolean;
  parameters: number;
  /** From trainer_state.json; null for a checkpoint without one. */
  step: number | null;
  tokens_seen: number | null;
  /** 'test' or 'validation' for prepared splits; 'files' for --data only. */
  subset: string;
  seq_len: number;
  stride: number;
  max_tokens: number | null;
  batch_size: number;
  buckets: number[];
  splits: Record<string, SplitResult>;
  perf: { eval_s: number; tokens_per_s: number };
}

/** JSON text with NaN/±Inf as null. */
export function resultJson(r: EvalResultFile): string {
  return JSON.stringify(r, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n';
}

/** Writes a result file atomically (creating the folder). */
export function writeEvalResult(file: string, r: EvalResultFile): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file + '.tmp', resultJson(r));
  renameSync(file + '.tmp', file);
}

/** Reads and checks a result file; errors name the file and the key. Returns null for other JSON files. */
export function readEvalResult(file: string): EvalResultFile | null {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const r = raw as Partial<EvalResultFile> | null;
  if (!r || typeof r !== 'object' || r.format !== 'lrnn-eval') return null;
  if (r.version !== 1) throw new Error(`${file}: key 'version': expected 1, got ${JSON.stringify(r.version)}`);
  if (!r.splits || typeof r.splits !== 'object') throw new Error(`${file}: key 'splits': expected an object`);
  for (const [name, s] of Object.entries(r.splits)) {
    for (const k of ['tokens', 'nll', 'loss', 'ppl'] as const) {
      if (typeof s?.[k] !== 'number') throw new Error(`${file}: key 'splits.${name}.${k}': expected a number, got ${JSON.stringify(s?.[k])}`);
    }
  }
  return r as EvalResultFile;
}

function bucketLabel(b: { from: number; to: number | null }): string {
  return b.to === null ? `${b.from}+` : `${b.from}–${b.to - 1}`;
}

/** The table `lrnn eval` prints: one row per split, perplexity per position bucket at the right. */
export function evalTable(r: EvalResultFile): string {
  const names = Object.keys(r.splits);
  const first = names.length ? r.splits[names[0]!]! : null;
  const bucketHeads = (first?.buckets ?? []).map((b) => `ppl@${bucketLabel(b)}`);
  const headers = ['split', 'tokens', 'bytes', 'loss', 'ppl', 'bpb', ...bucketHeads];
  const rows: Cell[][] = names.map((n) => {
    const s = r.splits[n]!;
    return [n + (s.truncated ? '*' : ''), s.tokens, s.bytes, s.loss, s.ppl, s.bpb, ...s.buckets.map((b) => (b.tokens > 0 ? b.ppl : null))];
  });
  const head = `${r.checkpoint}: ${r.model_type}, allow_neg_eigval=${r.allow_neg_eigval}, ${r.parameters.toLocaleString('en-US')} parameters` +
    (r.step !== null ? `, step ${r.step}` : '') + `; ${r.subset}, seq_len ${r.seq_len}, stride ${r.stride}`;
  const notes = names.some((n) => r.splits[n]!.truncated) ? `\n* cut at --max-tokens ${r.max_tokens}` : '';
  return `${head}\n${textTable(headers, rows)}${notes}\nloss = mean NLL in nats/token; bpb = bits per UTF-8 byte`;
}
