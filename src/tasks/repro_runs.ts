// The runs behind eval/reports/state-tracking.md (scripts/repro-state-tracking.mjs): the results cache kept in
// state-tracking.json, which keeps a run only while its recipe still resolves to the config it trained with
// (otherwise the run moves to `superseded`, with the reason), records runs trained outside the script after a
// field-by-field check (--adopt), and trains the missing runs as `lrnn task train` children, a few at a time.
// The report itself is written by repro_report.ts. Test: node scripts/test.mjs src/tasks/repro_report
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadTaskConfig, validateTaskConfig } from './schema.ts';

/** Bad input to the repro script (a flag, an --adopt spec or its run): it prints the message and exits 2. */
export class ReproError extends Error {
  override name = 'ReproError';
}

/** Recipe prefix → task name; brackets and s5 (S5 only swaps) are extra columns, not in the default grid. */
export const TASK_OF: Record<string, string> = { parity: 'parity', modular: 'modular', brackets: 'modular_brackets', s5: 's5_swaps' };

/** Steps averaged into a run's reported train loss (as `lrnn task train` does). */
const FINAL_LOSS_STEPS = 50;

type Json = Record<string, unknown>;
/** A task config's fields that define the run (all but its name and output folder), in JSON form. */
type RecipeFields = Json & { train: Json & { steps: number; batch_size: number }; task?: Json; model?: Json };

/** One run of the grid: RECIPE-sSEED[-stepsN]. */
export interface RunSpec {
  key: string;
  recipe: string;
  /** The recipe prefix: parity, modular, brackets or s5. */
  task: string;
  arch: 'deltanet' | 'mamba';
  neg: boolean;
  seed: number;
}

/** A finished run as state-tracking.json records it. */
export interface RunRecord extends RunSpec {
  steps: number;
  batch_size: number;
  wall_s: number;
  final_train_loss?: number | null;
  final_loss_mean_of?: number;
  test: { accuracy: number; scaled_accuracy: number; examples: number; sequence_accuracy?: number; min_length?: number; max_length?: number };
  checkpoint?: string;
  task_name?: string;
  by_length_bucket?: Record<string, { n: number; correct: number }> | null;
  finished_at?: string;
  overrides?: string[];
  config?: RecipeFields | null;
  adopted_from?: string;
  superseded_because?: string;
  [field: string]: unknown;
}

export interface Results {
  runs: Record<string, RunRecord>;
  superseded?: Record<string, RunRecord>;
}

/** A recipe resolved under a run's overrides: its fields now, and a recorded config read through today's schema. */
type Resolved = { error: string } | { error?: undefined; want: RecipeFields; recorded: RecipeFields | null };

const recipeFields = ({ name: _n, out_dir: _o, ...rest }: Json) => rest as RecipeFields;

/** Leaf paths where two JSON values differ. */
function diffPaths(a: unknown, b: unknown, at = ''): string[] {
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) || Array.isArray(b)) {
    return JSON.stringify(a) === JSON.stringify(b) ? [] : [`${at.slice(1)} (run ${JSON.stringify(a)}, recipe ${JSON.stringify(b)})`];
  }
  const x = a as Json, y = b as Json;
  return [...new Set([...Object.keys(x), ...Object.keys(y)])].flatMap((k) => diffPaths(x[k], y[k], `${at}.${k}`));
}

/** state-tracking.json and the run folders it points at (relative to the repo root); `log` gets progress lines. */
export class RunCache {
  readonly results: Results;

  constructor(readonly root: string, readonly file: string, private log: (line: string) => void) {
    this.results = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Results) : { runs: {} };
  }

  save(): void {
    mkdirSync(path.dirname(this.file), { recursive: true });
    writeFileSync(this.file, JSON.stringify(this.results, null, 2) + '\n');
  }

  /** The records of a run's metrics.jsonl, given its checkpoint folder (RUN/final). */
  private runMetrics(checkpoint: string): Json[] {
    const file = path.join(path.resolve(this.root, path.dirname(checkpoint)), 'metrics.jsonl');
    return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Json);
  }

  /** Mean loss of the last FINAL_LOSS_STEPS step records, and how many were averaged. */
  private finalLoss(checkpoint: string) {
    const tail = this.runMetrics(checkpoint).filter((x) => x.kind === 'step').slice(-FINAL_LOSS_STEPS);
    return { final_train_loss: tail.reduce((a, x) => a + (x.loss as number), 0) / tail.length, final_loss_mean_of: tail.length };
  }

  /** Test accuracy in 32-long length buckets from 40, read from the run's metrics.jsonl final eval record. */
  lengthBuckets(checkpoint: string): RunRecord['by_length_bucket'] {
    try {
      const rec = this.runMetrics(checkpoint).filter((x) => x.kind === 'eval' && x.by_length).pop()!;
      const out: Record<string, { n: number; correct: number }> = {};
      for (const [len, row] of Object.entries(rec.by_length as Record<string, { n: number; correct: number }>)) {
        const b = 40 + Math.floor((Number(len) - 40) / 32) * 32;
        const k = `${b}-${Math.min(b + 31, 256)}`;
        out[k] ??= { n: 0, correct: 0 };
        out[k].n += row.n;
        out[k].correct += row.correct;
      }
      return out;
    } catch {
      return null;
    }
  }

  /** The recipe fields of the run whose checkpoint folder (RUN/final) is given, from its task.json; null if it is gone. */
  runConfig(checkpoint: string): RecipeFields | null {
    const file = path.join(path.resolve(this.root, checkpoint), 'task.json');
    return existsSync(file) ? recipeFields((JSON.parse(readFileSync(file, 'utf8')) as { config: Json }).config) : null;
  }

  /** Moves a recorded run out of the report's tables into results.superseded (kept, with the reason). */
  supersede(key: string, reason: string): void {
    const r = this.results.runs[key]!;
    this.results.superseded ??= {};
    this.results.superseded[`${key}@${r.finished_at ?? 'unknown'}`] = { ...r, superseded_because: reason };
    delete this.results.runs[key];
    this.log(`${key}: superseded (${reason})`);
  }

  /**
   * A recorded run stands only while its recipe (at its seed and overrides) still resolves to the config it was
   * trained with, so a changed recipe retrains instead of mixing budgets in one table. Records from before configs
   * were kept are checked through their run folder's task.json, or by steps and batch when that folder is gone.
   * Also resolves `adoptions`' recipes and the modular recipe, all with the CLI's own loader. Returns whether
   * a record changed, the modular-deltanet recipe's fields (quoted in the report's header; {} if it does not load)
   * and each adoption's resolved recipe.
   */
  checkRecorded(adoptions: Adoption[] = []): { changed: boolean; modularRecipe: Partial<RecipeFields>; adoptionRecipes: Resolved[] } {
    const recs = Object.values(this.results.runs);
    const recorded = recs.map((r) => r.config ?? (r.checkpoint ? this.runConfig(r.checkpoint) : null));
    const [modular, ...resolved] = recipeConfigs([
      { recipe: 'modular-deltanet', overrides: [] },
      ...recs.map((r, i) => ({ recipe: r.recipe, overrides: r.overrides ?? [`--train.seed=${r.seed}`], recorded: recorded[i] })),
      ...adoptions.map((a) => ({ recipe: a.recipe, overrides: a.overrides, recorded: a.info.config })),
    ]);
    let changed = false;
    recs.forEach((r, i) => {
      const res = resolved[i]!;
      if (res.error !== undefined) {
        this.supersede(r.key, `recipe ${r.recipe}: ${res.error}`);
        changed = true;
        return;
      }
      const { want, recorded: have } = res;
      const diff = have ? diffPaths(have, want) : diffPaths({ steps: r.steps, batch_size: r.batch_size }, { steps: want.train.steps, batch_size: want.train.batch_size });
      if (diff.length) {
        this.supersede(r.key, `recipe changed: ${diff.join('; ')}`);
        changed = true;
      } else if (!r.config && recorded[i]) {
        r.config = recorded[i];
        changed = true;
      }
    });
    return { changed, modularRecipe: modular!.error !== undefined ? {} : modular!.want, adoptionRecipes: resolved.slice(recs.length) };
  }

  /** Records an adoption after checking its config against `res`, the recipe's (from checkRecorded). */
  adopt({ spec, recipe, task, arch, negeig, seedStr, dir, infoFile, info, overrides }: Adoption, res: Resolved): void {
    if (res.error !== undefined) throw new ReproError(`--adopt ${spec}: ${res.error}`);
    const { root, results } = this;
    const config = recipeFields(info.config);
    const diff = diffPaths(res.recorded, res.want);
    if (diff.length) throw new ReproError(`--adopt ${spec}: the run's config differs from recipe ${recipe} at seed ${seedStr}:\n  ${diff.join('\n  ')}`);
    if (!info.test) throw new ReproError(`--adopt ${spec}: the run has no test evaluation`);
    const checkpoint = path.relative(root, path.join(dir, 'final'));
    const key = `${recipe}-s${seedStr}`;
    if (results.runs[key] && results.runs[key].checkpoint !== checkpoint) this.supersede(key, `replaced by the run adopted from ${path.relative(root, dir)}`);
    // A run superseded earlier and now adopted again (its recipe changed back) leaves the superseded list.
    for (const [k, s] of Object.entries(results.superseded ?? {})) if (s.checkpoint === checkpoint) delete results.superseded![k];
    const c = info.config as Json & { name: string; model: { allow_neg_eigval: boolean }; train: { batch_size: number } };
    results.runs[key] = {
      key, recipe, task, arch, neg: Boolean(negeig), seed: Number(seedStr), name: c.name, allow_neg_eigval: c.model.allow_neg_eigval,
      steps: info.steps, batch_size: c.train.batch_size, wall_s: info.wall_s,
      ...this.finalLoss(checkpoint),
      test: { accuracy: info.test.accuracy, scaled_accuracy: info.test.scaledAccuracy, examples: info.test.examples, min_length: info.test.minLength, max_length: info.test.maxLength },
      checkpoint, task_name: info.task, by_length_bucket: this.lengthBuckets(checkpoint),
      finished_at: statSync(infoFile).mtime.toISOString(), adopted_from: path.relative(root, dir), overrides, config,
    };
    this.log(`adopted ${path.relative(root, dir)} as ${key}: test scaled accuracy ${info.test.scaledAccuracy.toFixed(3)}`);
  }

  /**
   * Results recorded before the length buckets existed get them from their run folders, and those recorded when the
   * final loss was the last batch's get the mean of the last 50 steps (what `lrnn task train` reports now).
   */
  backfill(): void {
    for (const r of Object.values(this.results.runs)) {
      if (!r.by_length_bucket && r.checkpoint) r.by_length_bucket = this.lengthBuckets(r.checkpoint);
      if (!r.final_loss_mean_of && r.checkpoint) {
        try {
          Object.assign(r, this.finalLoss(r.checkpoint));
        } catch { /* run folder gone: keep the recorded value */ }
      }
    }
  }
}

/**
 * The recipe fields of task recipes under overrides, resolved by the CLI's own loader (from the repo root); an
 * entry is { error } where the recipe no longer loads. A `recorded` config (a run's task.json) comes back passed
 * through the same schema, so keys added since that run read as their defaults, which is how it trained. Both in
 * JSON form, as the recorded configs are.
 */
function recipeConfigs(specs: { recipe: string; overrides: string[]; recorded?: Json | null }[]): Resolved[] {
  const asJson = (x: unknown) => JSON.parse(JSON.stringify(x)) as Json;
  return specs.map((s) => {
    try {
      const want = recipeFields(asJson(loadTaskConfig(s.recipe, s.overrides).config));
      const recorded = s.recorded ? recipeFields(asJson(validateTaskConfig({ name: 'recorded', ...s.recorded }, 'recorded run'))) : null;
      return { want, recorded };
    } catch (e) {
      return { error: String((e as Error).message ?? e) };
    }
  });
}

/** An --adopt spec parsed, with its run's task.json read. */
export interface Adoption {
  spec: string;
  recipe: string;
  task: string;
  arch: 'deltanet' | 'mamba';
  negeig: string | undefined;
  seedStr: string;
  dir: string;
  infoFile: string;
  info: { task: string; config: Json; steps: number; wall_s: number; test?: { accuracy: number; scaledAccuracy: number; examples: number; minLength: number; maxLength: number } };
  overrides: string[];
}

/** Parses `--adopt TASK-ARCH[-negeig]-sN=RUN_DIR` (RUN_DIR relative to root) and reads the run's final/task.json. */
export function readAdoption(root: string, spec: string): Adoption {
  const m = /^(([a-z0-9]+)-(deltanet|mamba)(-negeig)?)-s(\d+)=(.+)$/.exec(spec);
  if (!m || !TASK_OF[m[2]!]) throw new ReproError(`--adopt ${spec}: expected TASK-ARCH[-negeig]-sN=RUN_DIR`);
  const [, recipe, task, arch, negeig, seedStr, dirArg] = m as unknown as [string, string, string, 'deltanet' | 'mamba', string | undefined, string, string];
  const dir = path.resolve(root, dirArg);
  const infoFile = path.join(dir, 'final', 'task.json');
  if (!existsSync(infoFile)) throw new ReproError(`--adopt ${spec}: ${path.relative(root, infoFile)} not found (is the run finished?)`);
  const info = JSON.parse(readFileSync(infoFile, 'utf8')) as Adoption['info'];
  return { spec, recipe, task, arch, negeig, seedStr, dir, infoFile, info, overrides: [`--train.seed=${Number(seedStr)}`] };
}

export interface PoolOptions {
  /** Runs trained at once. */
  jobs: number;
  /** --steps: every run shortened to this many steps (warmup a tenth). */
  steps?: number;
  /** Print the commands only. */
  dryRun?: boolean;
  /** Called with each finished run's record, in the order they finish. */
  onDone: (spec: RunSpec, record: RunRecord) => void;
}

/** The recipe overrides a run trains with (its seed, and --steps when given). */
function runOverrides(seed: number, steps?: number): string[] {
  const args = [`--train.seed=${seed}`];
  if (steps) args.push(`--train.steps=${steps}`, `--train.warmup=${Math.max(1, Math.round(steps / 10))}`);
  return args;
}

/** Trains `todo` with `lrnn task train`, `jobs` at a time; a run that fails is reported and left out. */
export async function trainRuns(cache: RunCache, todo: RunSpec[], opts: PoolOptions, log: (line: string) => void): Promise<void> {
  const lrnnBin = path.join(cache.root, 'bin', 'lrnn.js');
  const runOne = (r: RunSpec): Promise<RunRecord | null> => {
    const overrides = runOverrides(r.seed, opts.steps);
    const args = [lrnnBin, 'task', 'train', r.recipe, ...overrides, `--name=${r.key}`, '--json'];
    log(`[${new Date().toISOString().slice(11, 19)}] ${r.key}: lrnn ${args.slice(1).join(' ')}`);
    if (opts.dryRun) return Promise.resolve(null);
    return new Promise((resolve) => {
      // Parallel jobs: V8's GC helper threads compete for the cores the other jobs train on. Two modular DeltaNet
      // runs side by side on 2 cores (both with --max-semi-space-size=32) took 411 ms/step each, and 314 ms/step with
      // --single-threaded-gc added; alone, the larger young generation took a run from 262 to 254 ms/step.
      const nodeArgs = ['--max-semi-space-size=32', ...(opts.jobs > 1 ? ['--single-threaded-gc'] : [])];
      const child = spawn(process.execPath, [...nodeArgs, ...args], { cwd: cache.root, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '', err = '';
      child.stdout.on('data', (d) => { out += d; });
      child.stderr.on('data', (d) => {
        err += d;
        for (const l of String(d).split('\n')) if (/^(test|step \d+0{2}\/)/.test(l)) log(`  ${r.key}: ${l}`);
      });
      child.on('close', (code) => {
        if (code !== 0) {
          log(`  ${r.key} failed (exit ${code}):\n${err.split('\n').slice(-10).join('\n')}`);
          resolve(null);
          return;
        }
        const summary = JSON.parse(out.trim().split('\n').pop()!) as RunRecord & { task: string; checkpoint: string };
        const config = cache.runConfig(summary.checkpoint);
        resolve({ ...r, ...summary, final_loss_mean_of: Math.min(FINAL_LOSS_STEPS, summary.steps), task: r.task, task_name: summary.task, by_length_bucket: cache.lengthBuckets(summary.checkpoint), finished_at: new Date().toISOString(), overrides, config });
      });
    });
  };
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const r = todo[next++]!;
      const res = await runOne(r);
      if (res) opts.onDone(r, res);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.jobs, Math.max(1, todo.length)) }, worker));
}
