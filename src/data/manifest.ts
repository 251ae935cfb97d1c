// The dataset manifest (data/<dataset>/manifest.json): sources with versions and checksums, the tokenizer,
// and per domain and split the text shards and token shards with rows, bytes and sha256. It holds no clock
// times, so the same inputs give the same manifest, also after an interrupted and resumed prepare.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ShardInfo } from './shards.ts';
import type { SourceRecord } from './sources.ts';
import type { Split, SplitFractions } from './split.ts';

export interface SplitEntry {
  rows: number;
  textBytes: number;
  /** Text shards; `file` is relative to the dataset folder. */
  shards: ShardInfo[];
  /** Token shards, one per text shard, written with the tokenizer whose sha256 is tokenizerSha256. */
  tokenShards?: ShardInfo[];
  tokenizerSha256?: string;
  tokens?: number;
}

export interface DomainEntry {
  /** Hash of everything the shards depend on; a different key means the domain is rebuilt. */
  key: string;
  sources: string[];
  documents: number;
  skipped: number;
  splits: Record<Split, SplitEntry>;
}

export interface TokenizerEntry {
  file: string;
  sha256: string;
  key: string;
  vocabSize: number;
  eosId: number;
  /** Text bytes per domain the tokenizer was trained on (empty when an existing file was given). */
  trainedOnBytes: Record<string, number>;
}

export interface DatasetManifest {
  format: 'lrnn-dataset';
  version: 1;
  options: { fractions: SplitFractions; shardMb: number; chunkChars: number; vocabSize: number; sampleMb: number };
  sources: Record<string, SourceRecord>;
  tokenizer?: TokenizerEntry;
  domains: Record<string, DomainEntry>;
}

export const MANIFEST = 'manifest.json';

export function readManifest(dir: string): DatasetManifest | null {
  const p = path.join(dir, MANIFEST);
  if (!existsSync(p)) return null;
  let m: DatasetManifest;
  try {
    m = JSON.parse(readFileSync(p, 'utf8'));
  } catch (err) {
    throw new Error(`${p}: not valid JSON (${(err as Error).message}); delete it and re-run 'lrnn prepare'`);
  }
  if (m.format !== 'lrnn-dataset') throw new Error(`${p}: not an lrnn dataset manifest (format ${JSON.stringify(m.format)})`);
  return m;
}

export function writeManifest(dir: string, m: DatasetManifest): void {
  const p = path.join(dir, MANIFEST);
  // Keys in one order whatever order they were set in (a resumed prepare sets them in another).
  const { format, version, options, sources, tokenizer, domains, ...rest } = m;
  const ordered = { format, version, options, sources, ...(tokenizer ? { tokenizer } : {}), domains, ...rest };
  writeFileSync(p + '.tmp', JSON.stringify(ordered, null, 1) + '\n');
  renameSync(p + '.tmp', p);
}
