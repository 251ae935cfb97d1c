// Shard integrity against the manifest: every shard a reader is about to use must have the size the
// manifest records (checked at open: one stat per shard, so a truncated or swapped shard never reaches a
// step), and on request its sha256 (a full read: `--verify` on train, always for the small splits eval
// reports on), so a shard overwritten in place cannot produce a wrong number that looks right.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { DatasetManifest } from './manifest.ts';
import { sha256File, type ShardInfo } from './shards.ts';
import type { Split } from './split.ts';

/** A shard that does not match its manifest entry (the CLI exits 2; the message names the shard). */
export class DatasetIntegrityError extends Error {
  override name = 'DatasetIntegrityError';
}

/** The text and token shards of the given domains and splits, as the manifest lists them. */
export function shardsOf(m: DatasetManifest, domains: readonly string[], splits: readonly Split[]): ShardInfo[] {
  const out: ShardInfo[] = [];
  for (const d of domains) {
    const entry = m.domains[d];
    if (!entry) continue; // unknown domains are reported by the caller, which knows the recipe key
    for (const s of splits) out.push(...(entry.splits[s]?.shards ?? []), ...(entry.splits[s]?.tokenShards ?? []));
  }
  return out;
}

function damaged(dir: string, file: string, what: string): DatasetIntegrityError {
  return new DatasetIntegrityError(`${path.join(dir, file)}: ${what}; the dataset is damaged — re-run 'lrnn prepare --out ${dir}' with the same inputs (it rebuilds shards that fail their checksum)`);
}

/** Throws DatasetIntegrityError naming the first shard that is missing or whose size differs from the manifest. */
export function checkShardSizes(dir: string, shards: readonly ShardInfo[]): void {
  for (const s of shards) {
    const p = path.join(dir, s.file);
    if (!existsSync(p)) throw damaged(dir, s.file, 'missing');
    const size = statSync(p).size;
    if (size !== s.bytes) throw damaged(dir, s.file, `${size} bytes, the manifest says ${s.bytes}`);
  }
}

/**
 * Sizes first (cheap, so a truncated shard is named before any long read), then the sha256 of every shard.
 * `onProgress(done, total)` counts bytes hashed.
 */
export async function verifyShardHashes(dir: string, shards: readonly ShardInfo[], onProgress?: (done: number, total: number) => void): Promise<void> {
  checkShardSizes(dir, shards);
  const total = shards.reduce((a, s) => a + s.bytes, 0);
  let done = 0;
  for (const s of shards) {
    const sha = await sha256File(path.join(dir, s.file));
    if (sha !== s.sha256) throw damaged(dir, s.file, `sha256 ${sha.slice(0, 12)}…, the manifest says ${s.sha256.slice(0, 12)}…`);
    done += s.bytes;
    onProgress?.(done, total);
  }
}
