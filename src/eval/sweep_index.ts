// <sweep dir>/sweep.json, the index `lrnn sweep` keeps of its runs: the recipe, the fixed overrides, the grid
// axes and one entry per run (its folder, its overrides, what the sweep last did with it and how it ended).
// `lrnn compare <sweep dir>` reads it to know which run is which point of the grid; the run folders
// themselves (metrics.jsonl) stay the record of what happened. Written atomically (temp file + rename).
// Test: node scripts/test.mjs src/cli/sweep
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { RunError } from './runs.ts';

export const SWEEP_FILE = 'sweep.json';

/** What the sweep did with a run in its latest invocation. */
export type SweepAction = 'start' | 'resume' | 'reuse' | 'rerun';

/** 'pending' never started; 'running' started but not seen to end (the sweep itself was killed). */
export type SweepRunStatus = 'pending' | 'running' | 'completed' | 'stopped_nonfinite' | 'interrupted' | 'failed';

export interface SweepRunEntry {
  name: string;
  /** Run folder, relative to the sweep folder. */
  dir: string;
  /** Grid key → typed value. */
  overrides: Record<string, unknown>;
  /** The `--key=value` arguments the run was given (fixed overrides not included). */
  args: string[];
  action: SweepAction | null;
  status: SweepRunStatus;
  exit_code: number | null;
  step: number | null;
  tokens_seen: number | null;
  /** Wall seconds of the sweep's latest child process for this run (null when reused or not run). */
  wall_s: number | null;
  /** The run's log file of child output, relative to the sweep folder. */
  log: string | null;
}

export interface SweepIndex {
  format: 'lrnn-sweep';
  version: 1;
  /** The recipe as given on the command line, and its resolved path. */
  recipe: string;
  recipe_path: string;
  /** Overrides applied to every run (`--section.key=value`). */
  overrides: string[];
  grid: { key: string; values: string[] }[];
  jobs: number;
  updated: string;
  runs: SweepRunEntry[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads <dir>/sweep.json; null when there is none. A malformed file is a RunError naming the file and key. */
export function readSweepIndex(dir: string): SweepIndex | null {
  const file = path.join(dir, SWEEP_FILE);
  if (!existsSync(file)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new RunError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const bad = (key: string, what: string, got: unknown) => new RunError(`${file}: key '${key}': expected ${what}, got ${JSON.stringify(got)}`);
  if (!isObj(raw) || raw.format !== 'lrnn-sweep') throw bad('format', '"lrnn-sweep"', isObj(raw) ? raw.format : raw);
  if (raw.version !== 1) throw bad('version', '1', raw.version);
  if (!Array.isArray(raw.runs)) throw bad('runs', 'an array', raw.runs);
  if (!Array.isArray(raw.grid)) throw bad('grid', 'an array', raw.grid);
  raw.runs.forEach((r, i) => {
    if (!isObj(r)) throw bad(`runs[${i}]`, 'an object', r);
    if (typeof r.name !== 'string' || !r.name) throw bad(`runs[${i}].name`, 'a string', r.name);
    if (typeof r.dir !== 'string' || !r.dir) throw bad(`runs[${i}].dir`, 'a string', r.dir);
    if (!isObj(r.overrides)) throw bad(`runs[${i}].overrides`, 'an object', r.overrides);
  });
  return raw as unknown as SweepIndex;
}

/** Writes <dir>/sweep.json atomically. */
export function writeSweepIndex(dir: string, index: SweepIndex): void {
  const file = path.join(dir, SWEEP_FILE);
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(index, null, 2) + '\n');
  renameSync(tmp, file);
}
