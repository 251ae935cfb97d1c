// What lets a killed `prepare` finish where it stopped: per domain, under <out>/.prepare/<domain>/, the sorted
// runs with spill.json (written only once every run is complete, so its presence means the documents need not
// be read again) and journal.jsonl (one line per finished shard pair, appended after both files are closed).
// A re-run reuses a journalled shard only if its files still match the recorded size and sha256; anything
// else is rebuilt. The folder is removed when the domain is complete.
import { appendFileSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runsIntact, type SpilledSplit } from './spill.ts';
import { sha256File, type ShardInfo } from './shards.ts';
import type { Split } from './split.ts';

export const STATE_DIR = '.prepare';

export interface SpillState {
  /** The domain key the runs were made for. */
  key: string;
  documents: number;
  skipped: number;
  splits: Record<Split, SpilledSplit>;
}

export function readSpillState(dir: string, key: string): SpillState | null {
  const p = path.join(dir, 'spill.json');
  if (!existsSync(p)) return null;
  let st: SpillState;
  try {
    st = JSON.parse(readFileSync(p, 'utf8'));
  } catch {
    return null;
  }
  if (st.key !== key) return null;
  for (const s of Object.values(st.splits)) if (!runsIntact(dir, s.runs)) return null;
  return st;
}

export function writeSpillState(dir: string, st: SpillState): void {
  const p = path.join(dir, 'spill.json');
  writeFileSync(p + '.tmp', JSON.stringify(st));
  renameSync(p + '.tmp', p);
}

export interface JournalEntry {
  split: Split;
  index: number;
  tokenizerSha256: string;
  /** The text shard (written by this build, or the existing one a re-tokenisation read). */
  text: ShardInfo;
  tokens: ShardInfo;
}

/** Journal entries by `${split}/${index}`; a torn last line (a kill while appending) is ignored. */
export function readJournal(dir: string): Map<string, JournalEntry> {
  const out = new Map<string, JournalEntry>();
  const p = path.join(dir, 'journal.jsonl');
  if (!existsSync(p)) return out;
  for (const line of readFileSync(p, 'utf8').split('\n')) {
    if (!line) continue;
    try {
      const e = JSON.parse(line) as JournalEntry;
      out.set(`${e.split}/${e.index}`, e);
    } catch {
      // torn write
    }
  }
  return out;
}

export function appendJournal(dir: string, e: JournalEntry): void {
  appendFileSync(path.join(dir, 'journal.jsonl'), JSON.stringify(e) + '\n');
}

/** True when the file matches the recorded size and sha256. */
export async function shardIntact(root: string, s: ShardInfo): Promise<boolean> {
  const p = path.join(root, s.file);
  return existsSync(p) && statSync(p).size === s.bytes && (await sha256File(p)) === s.sha256;
}
