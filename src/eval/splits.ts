// Token streams to evaluate: a prepared dataset's test (or validation) split per domain, read through the
// data loader's eval reader, or user files (.txt/.jsonl/.parquet/.arrow) tokenised with the checkpoint's
// tokenizer. Both join documents as the training stream does: doc₀ EOS doc₁ EOS … (the first token is
// context only, so it is never scored).
// Test: node scripts/test.mjs src/eval/splits
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { openEvalStream } from '../data/loader.ts';
import { listUserFiles, userDocuments } from '../data/documents.ts';
import { readManifest } from '../data/manifest.ts';
import { shardsOf, verifyShardHashes } from '../data/verify.ts';
import type { Split } from '../data/split.ts';
import type { TextTokenizer } from '../tokenizer/bpe.ts';

export interface SplitStream {
  /** Split name as reported (a domain such as 'text', or a user file's base name). */
  name: string;
  /** Where the tokens came from (for the result file). */
  source: string;
  /** doc₀ EOS doc₁ EOS … as token ids (cut after maxTokens + 1 tokens). */
  tokens: Int32Array;
  /** True when the stream was cut short by maxTokens. */
  truncated: boolean;
  /** User files: UTF-8 bytes of the documents read (a cross-check of the per-token byte counts). */
  textBytes?: number;
  /** Documents read (user files only; the prepared reader does not expose document boundaries). */
  docs?: number;
}

/** Reading chunk for the prepared eval reader; windows are re-cut afterwards, so it only affects speed. */
const CHUNK = 4096;

/** sha256 of a file's bytes (hex). */
function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * A prepared dataset's split of one domain as one token stream. When `tokenizerFile` is given and differs
 * from the dataset's tokenizer (sha256), the text shards are tokenised on the fly with it, so ids always
 * match the model being evaluated; otherwise the pre-tokenised shards are read.
 */
export async function preparedSplitStream(dir: string, domain: string, subset: Split, opts: { maxTokens?: number; tokenizerFile?: string; tokenizer?: TextTokenizer } = {}): Promise<SplitStream & { retokenized: boolean }> {
  const m = readManifest(dir);
  if (!m) throw new Error(`${dir}: no manifest.json — prepare the data first ('lrnn prepare --out ${dir}') or pass --data FILE`);
  if (!m.domains[domain]) throw new Error(`${path.join(dir, 'manifest.json')}: no domain '${domain}' (have: ${Object.keys(m.domains).join(', ') || 'none'})`);
  // A reported number must come from the data the manifest describes: the split's shards are small, so
  // their sha256 is checked every time (a shard overwritten in place keeps its size); that covers the
  // sizes too, so the loader is told not to re-check them.
  await verifyShardHashes(dir, shardsOf(m, [domain], [subset]));
  const retokenize = !!(opts.tokenizerFile && opts.tokenizer && (!m.tokenizer || m.tokenizer.sha256 !== sha256(opts.tokenizerFile)));
  // One window more than needed, so a split longer than maxTokens is seen to be cut.
  const maxWindows = opts.maxTokens !== undefined ? Math.ceil((opts.maxTokens + 1) / CHUNK) + 1 : undefined;
  const parts: Int32Array[] = [];
  let total = 0;
  for await (const w of openEvalStream({ dir, domain, split: subset, seqLen: CHUNK, verified: true, ...(retokenize ? { tokenizer: opts.tokenizer! } : {}), ...(maxWindows !== undefined ? { maxWindows } : {}) })) {
    // Window i holds stream tokens [i·CHUNK, i·CHUNK + CHUNK]; its first token is the previous window's last.
    const part = parts.length === 0 ? w.tokens : w.tokens.subarray(1);
    parts.push(part);
    total += part.length;
  }
  let tokens = concat(parts, total);
  let truncated = false;
  if (opts.maxTokens !== undefined && tokens.length > opts.maxTokens + 1) {
    tokens = tokens.slice(0, opts.maxTokens + 1);
    truncated = true;
  }
  return { name: domain, source: `${dir} ${domain}/${subset}${retokenize ? ' (re-tokenised with the checkpoint tokenizer)' : ''}`, tokens, truncated, retokenized: retokenize };
}

/** User files (or folders of them) tokenised with `tokenizer` and joined with its EOS as one stream. */
export async function userFileStream(paths: string[], tokenizer: TextTokenizer, opts: { name?: string; maxTokens?: number } = {}): Promise<SplitStream> {
  const files = listUserFiles(paths);
  const eos = tokenizer.eosId;
  const limit = opts.maxTokens !== undefined ? opts.maxTokens + 1 : Infinity;
  const parts: Int32Array[] = [];
  let total = 0, textBytes = 0, docs = 0;
  let truncated = false;
  // chunkChars: Infinity keeps each .txt file one document (no EOS inside a file).
  for await (const row of userDocuments(files, { chunkChars: Number.POSITIVE_INFINITY })) {
    if (total >= limit) {
      truncated = true;
      break;
    }
    const ids = tokenizer.encodeOrdinary(row.text);
    parts.push(ids);
    total += ids.length;
    if (eos >= 0) {
      parts.push(Int32Array.of(eos));
      total += 1;
    }
    textBytes += Buffer.byteLength(row.text, 'utf8');
    docs += 1;
  }
  let tokens = concat(parts, total);
  if (tokens.length > limit) {
    tokens = tokens.slice(0, limit);
    truncated = true;
  }
  const name = opts.name ?? path.basename(paths[0]!).replace(/\.(txt|jsonl|parquet|arrows?)$/i, '');
  return { name, source: files.join(', '), tokens, truncated, textBytes, docs };
}

function concat(parts: Int32Array[], total: number): Int32Array {
  if (parts.length === 1) return parts[0]!.slice();
  const out = new Int32Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
