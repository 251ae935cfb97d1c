// Checks `lrnn train` makes before the first step, so a run that cannot work fails at once with exit 2 and a
// message naming the recipe key or path, instead of at the first gather, the first allocation or the first
// checkpoint: the vocabulary against the tokenizer, the model's shapes and memory, a writable run folder and
// free disk for one checkpoint. Also the rule for a run folder left by a run that died before its first
// checkpoint (a plain re-run replaces it).
import { existsSync, mkdirSync, readdirSync, rmSync, statfsSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { paramSpecs, type ModelConfig } from '../models/config.ts';
import { UsageError } from './errors.ts';

const GB = 2 ** 30;
const fmtGb = (b: number) => `${(b / GB).toFixed(b < 10 * GB ? 1 : 0)} GB`;

/** Parameter count of a model config; throws a UsageError naming [model] when its shapes do not fit together. */
export function countParams(c: ModelConfig): number {
  try {
    return paramSpecs(c).reduce((a, s) => a + s.shape.reduce((x, d) => x * d, 1), 0);
  } catch (e) {
    throw new UsageError(`[model]: ${(e as Error).message}`);
  }
}

/** Bytes one training checkpoint takes: weights plus two AdamW moments in float32, plus a little for JSON. */
export function checkpointBytes(params: number): number {
  return params * 4 * 3 + 4 * 2 ** 20;
}

/**
 * The model against the tokenizer and the machine. `recipeVocab` is model.vocab_size when the recipe sets it.
 * Training holds weights, gradients, AdamW's two moments and a copy for the update: about 5 × 4 bytes per
 * parameter before activations; a model needing more than the machine's memory is refused up front.
 */
export function checkModel(c: ModelConfig, tokenizerVocab: number, recipeVocab: number | undefined, totalMem = os.totalmem()): number {
  if (recipeVocab !== undefined && recipeVocab < tokenizerVocab) {
    throw new UsageError(`model.vocab_size: ${recipeVocab} is smaller than the tokenizer's vocabulary of ${tokenizerVocab} (token ids up to ${tokenizerVocab - 1} would fall outside the embedding); leave it unset to use the tokenizer's`);
  }
  const params = countParams(c);
  const need = params * 4 * 5;
  if (need > totalMem) {
    const emb = c.vocab_size * c.hidden_size;
    const key = 2 * emb >= params / 2 ? `model.vocab_size=${c.vocab_size}` : `[model] (hidden_size ${c.hidden_size}, ${c.num_hidden_layers} layers)`;
    throw new UsageError(`${key}: ${params.toExponential(2)} parameters need about ${fmtGb(need)} for weights, gradients and optimizer state, more than this machine's ${fmtGb(totalMem)} of memory`);
  }
  return params;
}

/** The nearest existing folder at or above p. */
function existingAncestor(p: string): string {
  let d = path.resolve(p);
  while (!existsSync(d)) d = path.dirname(d);
  return d;
}

/**
 * Creates the run folder and proves it writable (a probe file), then checks free space for one checkpoint.
 * `freeBytes` is for tests. Errors name the folder and the system's reason.
 */
export function checkRunDir(runDir: string, needBytes: number, freeBytes?: number): void {
  const anc = existingAncestor(runDir);
  if (!statSync(anc).isDirectory()) throw new UsageError(`out_dir: cannot create ${runDir}: ${anc} is a file, not a folder`);
  try {
    mkdirSync(runDir, { recursive: true });
    const probe = path.join(runDir, `.write-test-${process.pid}`);
    writeFileSync(probe, '');
    unlinkSync(probe);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'EROFS' ? 'read-only file system' : err.code === 'EACCES' || err.code === 'EPERM' ? 'permission denied' : err.code ?? err.message;
    throw new UsageError(`out_dir: cannot write to ${runDir} (${why}; nearest existing folder ${anc}); choose another --out_dir=...`);
  }
  let free = freeBytes;
  if (free === undefined) {
    try {
      const s = statfsSync(runDir);
      free = s.bavail * s.bsize;
    } catch {
      return; // no statfs here: the save itself will report a full disk, naming the file
    }
  }
  if (free < needBytes) {
    throw new UsageError(`out_dir: ${runDir} has ${fmtGb(free)} free, one checkpoint needs about ${fmtGb(needBytes)}; free some space or choose another --out_dir=...`);
  }
}

/** Files a run writes at its top level; a failed run's folder holds only these (plus temp folders). */
const RUN_FILES = ['metrics.jsonl', 'train.log', 'config.resolved.toml'];

/**
 * What a fresh `lrnn train` may do with an existing run folder: 'new' (absent or empty of runs), 'replace'
 * (a run without an intact checkpoint: nothing to resume, so a re-run starts over), or 'taken'.
 */
export function runDirState(runDir: string): 'new' | 'replace' | 'taken' {
  if (!existsSync(path.join(runDir, 'metrics.jsonl')) && !existsSync(path.join(runDir, 'train.log'))) return 'new';
  // checkpoint-<step>.damaged folders (set aside by a resume) are kept but hold nothing to resume from.
  const kept = readdirSync(runDir).filter((n) => /^(checkpoint-(\d+|best)|final)$/.test(n));
  return kept.length ? 'taken' : 'replace';
}

/** Removes a checkpoint-less run's own files (only those: the folder may hold the user's other files). */
export function clearFailedRun(runDir: string): void {
  for (const f of RUN_FILES) rmSync(path.join(runDir, f), { force: true });
  for (const n of readdirSync(runDir)) if (n.startsWith('.tmp-')) rmSync(path.join(runDir, n), { recursive: true, force: true });
}
