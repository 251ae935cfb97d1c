// Training checkpoints inside a run folder: checkpoints/<run>/checkpoint-<step>/ (periodic, the newest
// `keep_last` kept) and checkpoint-best/ (best mean validation loss). Each is a complete folder of
// docs/checkpoint-format.md (weights, optimizer moments, trainer_state.json) plus config.resolved.toml; the
// resolved config is also inside trainer_state.json (`run_config`) so the folder alone reproduces the run.
import { existsSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { configToToml } from '../config/load.ts';
import type { RunConfig } from '../config/schema.ts';
import { readOptimizerState, readTrainerState, saveCheckpoint, type TrainerState } from '../models/checkpoint.ts';
import { verifyCheckpoint } from '../models/checkpoint_verify.ts';
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

/**
 * Deletes all but the newest `keep` periodic checkpoints (checkpoint-best is never touched). Each folder is
 * first renamed to a `.tmp-pruned-` name, so a kill during the deletion leaves a temp folder that the next
 * start removes, never a half-deleted checkpoint-<step>.
 */
export function pruneCheckpoints(runDir: string, keep: number): string[] {
  const all = listCheckpoints(runDir);
  const gone = all.slice(0, Math.max(0, all.length - keep)).map((c) => c.dir);
  for (const d of gone) {
    const aside = path.join(runDir, `.tmp-pruned-${path.basename(d)}-${process.pid}-${Date.now()}`);
    renameSync(d, aside);
    rmSync(aside, { recursive: true, force: true });
  }
  return gone;
}

const TEMP = /^\.tmp-(?:old-|pruned-)?(checkpoint-(?:\d+|best)|final)-\d+-\d+$/;

/**
 * Cleans what an interrupted save or prune left in a run folder (call before a start or resume): `.tmp-*`
 * folders are removed, except that a `.tmp-old-X` whose X is missing (killed between the two renames of a
 * save) is renamed back to X, since it is the last good copy. Returns one line per action, for the log.
 */
export function cleanRunDir(runDir: string): string[] {
  if (!existsSync(runDir)) return [];
  const done: string[] = [];
  const names = readdirSync(runDir).filter((n) => TEMP.test(n)).sort();
  for (const n of names) {
    const m = TEMP.exec(n)!;
    const target = path.join(runDir, m[1]!);
    if (n.startsWith('.tmp-old-') && !existsSync(target)) {
      renameSync(path.join(runDir, n), target);
      done.push(`restored ${target} from ${n} (a save was interrupted)`);
    } else {
      rmSync(path.join(runDir, n), { recursive: true, force: true });
      done.push(`removed ${path.join(runDir, n)} (left by an interrupted save or prune)`);
    }
  }
  return done;
}

/**
 * The newest intact periodic checkpoint of a run folder and its state. A damaged newer one (truncated or
 * missing file, bad header or JSON) is renamed to checkpoint-<step>.damaged, nothing deleted, and reported
 * through `warn`, naming it and the fault. Throws naming the folder when no intact checkpoint is left.
 */
export function latestCheckpoint(runDir: string, warn: (msg: string) => void = () => {}): { dir: string; state: FullTrainerState } {
  const all = listCheckpoints(runDir);
  if (all.length === 0) throw new Error(`${runDir}: no checkpoint-<step> folder to resume from`);
  const damaged: string[] = [];
  for (let i = all.length - 1; i >= 0; --i) {
    const dir = all[i]!.dir;
    try {
      verifyCheckpoint(dir, { training: true });
      const state = readTrainerState(dir) as FullTrainerState;
      if (!state.run_config || !state.stability) throw new Error(`${dir}/trainer_state.json: missing run_config/stability (not written by lrnn train)`);
      if (damaged.length) warn(`resuming from ${dir}, the newest intact checkpoint`);
      return { dir, state };
    } catch (e) {
      let aside = `${dir}.damaged`;
      for (let k = 2; existsSync(aside); ++k) aside = `${dir}.damaged-${k}`;
      renameSync(dir, aside);
      damaged.push(dir);
      warn(`checkpoint ${dir} is damaged (${(e as Error).message}); moved it to ${path.basename(aside)} and trying an older one`);
    }
  }
  throw new Error(`${runDir}: no intact checkpoint-<step> folder to resume from (damaged: ${damaged.map((d) => path.basename(d)).join(', ')})`);
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
