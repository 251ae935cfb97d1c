// Training checkpoints inside a run folder: checkpoints/<run>/checkpoint-<step>/ (periodic, the newest
// `keep_last` kept) and checkpoint-best/ (best mean validation loss). Each is a complete folder of
// checkpoint-format.md (weights, optimizer moments, trainer_state.json) plus config.resolved.toml; the
// resolved config is also inside trainer_state.json (`run_config`) so the folder alone reproduces the run.
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { configToToml } from '../config/load.ts';
import type { RunConfig } from '../config/schema.ts';
import { readOptimizerState, readTrainerState, saveCheckpoint, type TrainerState } from '../models/checkpoint.ts';
import type { CausalLM, ModelConfig } from '../models/index.ts';
import type { AdamW } from '../optim/adamw.ts';

export const RESOLVED_CONFIG_FILE = 'config.resolved.toml';
export const BEST_DIR = 'checkpoint-best';

/** Fields this trainer adds to trainer_state.json (allowed by §11: readers ignore unknown fields). */
export interface TrainerExtras {
  stability: { spike: { window: number[]; spikes: number }; nonfinite_count: number };
  best_eval_loss: number | null;
  run_config: RunConfig;
}

export type FullTrainerState = TrainerState & TrainerExtras;

/** Periodic checkpoint folders of a run, oldest first. */
export function listCheckpoints(runDir: string): { step: number; dir: string }[] {
  if (!existsSync(runDir)) return [];
  return readdirSync(runDir)
    .map((n) => /^checkpoint-(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ step: Number(m[1]), dir: path.join(runDir, m[0]) }))
    .sort((a, b) => a.step - b.step);
}

export interface SaveArgs {
  runDir: string;
  /** Folder name inside the run folder (checkpoint-<step> or checkpoint-best). */
  name: string;
  model: CausalLM;
  optimizer: AdamW;
  state: FullTrainerState;
  tokenizer?: { file: string } | { json: string };
}

/** Saves one training checkpoint atomically, then adds config.resolved.toml. Returns its folder. */
export function saveTrainingCheckpoint(a: SaveArgs): string {
  const dir = path.join(a.runDir, a.name);
  saveCheckpoint(dir, a.model, {
    ...(a.tokenizer ? { tokenizer: a.tokenizer } : {}),
    optimizer: a.optimizer.exportMoments(),
    trainerState: a.state,
  });
  writeFileSync(path.join(dir, RESOLVED_CONFIG_FILE), configToToml(a.state.run_config));
  return dir;
}

/** Deletes all but the newest `keep` periodic checkpoints (checkpoint-best is never touched). */
export function pruneCheckpoints(runDir: string, keep: number): string[] {
  const all = listCheckpoints(runDir);
  const gone = all.slice(0, Math.max(0, all.length - keep)).map((c) => c.dir);
  for (const d of gone) rmSync(d, { recursive: true, force: true });
  return gone;
}

/** The newest periodic checkpoint of a run folder and its state; an error naming the folder when none. */
export function latestCheckpoint(runDir: string): { dir: string; state: FullTrainerState } {
  const all = listCheckpoints(runDir);
  if (all.length === 0) throw new Error(`${runDir}: no checkpoint-<step> folder to resume from`);
  const dir = all[all.length - 1]!.dir;
  const state = readTrainerState(dir) as FullTrainerState;
  if (!state.run_config || !state.stability) throw new Error(`${dir}/trainer_state.json: missing run_config/stability (not written by lrnn train)`);
  return { dir, state };
}

/** Restores optimizer moments and step from a checkpoint folder. */
export function restoreOptimizer(dir: string, model: CausalLM, optimizer: AdamW, step: number): void {
  const moments = readOptimizerState(dir, model.config);
  optimizer.importMoments(step, moments);
}

/** Throws (naming the fields) when a resumed run's model settings differ from the checkpoint's config.json. */
export function checkResumeModel(dir: string, saved: ModelConfig, wanted: ModelConfig): void {
  const a = saved as unknown as Record<string, unknown>, b = wanted as unknown as Record<string, unknown>;
  const changed = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
  if (changed.length) throw new ResumeError(`cannot resume ${dir} with different model settings (${changed.join(', ')}): the [model] section must stay as it was`);
}

/** A resume that cannot work as asked (the CLI reports it as bad input, exit 2). */
export class ResumeError extends Error {
  override name = 'ResumeError';
}
