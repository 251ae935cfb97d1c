// What `lrnn sweep` does with each run folder it finds, decided before anything runs: reuse a finished run
// (its config.resolved.toml equals the planned config and metrics.jsonl ends in a 'done' record that is
// 'completed' at train.steps or 'stopped_nonfinite'), resume an interrupted one from its newest
// checkpoint-<step> (`lrnn train --resume`), rerun one whose recipe changed (the old folder is moved to
// <sweep dir>/superseded/), or start one that is absent or stopped before its first checkpoint (`lrnn train`
// replaces such a folder itself).
// Test: node scripts/test.mjs src/cli/sweep
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { loadResolvedConfig } from '../config/load.ts';
import type { RunConfig } from '../config/schema.ts';
import { readMetrics, type DoneRecord } from '../log/metrics.ts';
import { listCheckpoints, RESOLVED_CONFIG_FILE } from '../train/checkpointing.ts';
import { UsageError } from './errors.ts';

export interface RunDecision {
  action: 'start' | 'resume' | 'reuse' | 'rerun';
  /** One line for the plan table. */
  why: string;
  /** The finished run's end, for 'reuse'. */
  done?: DoneRecord;
}

/**
 * Sections and keys that do not change what a run computes: where it lives, how it logs, and
 * train.split_batch_over_ranks, which lrnn train sets itself when it spreads a run over ranks that share the
 * batch (the same steps on the same batches as one process).
 */
const IGNORED = new Set(['out_dir', 'log', 'train.split_batch_over_ranks']);

/** Flattened `a.b.c` → JSON value of a config table, without the ignored keys. */
function flatten(obj: Record<string, unknown>, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (IGNORED.has(key)) continue;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) flatten(v as Record<string, unknown>, key, out);
    else out[key] = JSON.stringify(v);
  }
  return out;
}

/** Keys whose values differ between the planned config and a run folder's resolved config (as `key: old → new`). */
export function configDiff(planned: RunConfig, resolved: Record<string, unknown>): string[] {
  const a = flatten(resolved), b = flatten(planned as unknown as Record<string, unknown>);
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((k) => a[k] !== b[k]).map((k) => `${k}: ${a[k] ?? '(absent)'} → ${b[k] ?? '(absent)'}`);
}

/** The last 'done' record of a run's metrics.jsonl (null when it has none); a corrupt file is a UsageError naming it. */
export function lastDone(runDir: string): DoneRecord | null {
  const file = path.join(runDir, 'metrics.jsonl');
  if (!existsSync(file)) return null;
  try {
    const recs = readMetrics(file);
    const done = recs.filter((r): r is DoneRecord => r.kind === 'done');
    return done.at(-1) ?? null;
  } catch (e) {
    throw new UsageError(`${(e as Error).message} (fix or remove the run folder ${runDir})`);
  }
}

export function decideRun(runDir: string, config: RunConfig): RunDecision {
  if (!existsSync(runDir)) return { action: 'start', why: 'new' };
  const resolvedFile = path.join(runDir, RESOLVED_CONFIG_FILE);
  const hasRun = existsSync(path.join(runDir, 'metrics.jsonl')) || existsSync(path.join(runDir, 'train.log'));
  if (!existsSync(resolvedFile)) return { action: 'start', why: hasRun ? 'stopped before writing its config: started over' : 'new' };
  let resolved: Record<string, unknown>;
  try {
    // Through the schema, so a field added to it since (absent from the file) compares as its default;
    // a file the schema no longer accepts is compared as written.
    try {
      resolved = loadResolvedConfig(resolvedFile) as unknown as Record<string, unknown>;
    } catch {
      resolved = parseToml(readFileSync(resolvedFile, 'utf8')) as Record<string, unknown>;
    }
  } catch (e) {
    return { action: 'rerun', why: `${resolvedFile} unreadable (${(e as Error).message.split('\n')[0]})` };
  }
  const diff = configDiff(config, resolved);
  if (diff.length) return { action: 'rerun', why: `recipe changed: ${diff.slice(0, 3).join('; ')}${diff.length > 3 ? `; +${diff.length - 3} more` : ''}` };
  const done = lastDone(runDir);
  if (done && ((done.status === 'completed' && done.step >= config.train.steps) || done.status === 'stopped_nonfinite')) {
    return { action: 'reuse', why: `finished: ${done.status} at step ${done.step}`, done };
  }
  const ckpts = listCheckpoints(runDir);
  if (ckpts.length) return { action: 'resume', why: `${done ? `${done.status} at step ${done.step}` : 'ended without a done record (killed or crashed)'}; from checkpoint-${ckpts.at(-1)!.step}` };
  const kept = readdirSync(runDir).some((n) => n === 'checkpoint-best' || n === 'final');
  if (kept) return { action: 'rerun', why: 'no checkpoint-<step> to resume from' };
  return { action: 'start', why: hasRun ? 'stopped before its first checkpoint: started over' : 'new' };
}

/** Moves a run folder to <sweepDir>/superseded/<name>[.k]; returns the new path. */
export function supersede(sweepDir: string, runDir: string): string {
  const base = path.join(sweepDir, 'superseded');
  mkdirSync(base, { recursive: true });
  let to = path.join(base, path.basename(runDir));
  for (let k = 2; existsSync(to); ++k) to = path.join(base, `${path.basename(runDir)}.${k}`);
  renameSync(runDir, to);
  return to;
}
