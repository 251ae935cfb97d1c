// `lrnn sweep RECIPE --grid KEY=V1,V2,… [--grid …] [--seeds 0,1] [--jobs N] [--out DIR]`: trains the cross
// product of recipe overrides, each point an ordinary run folder <DIR>/<run name> trained by a child
// `lrnn train` (N at a time; a crash of one leaves the others running), resumable by running the same
// command again (sweep_plan.ts), indexed in <DIR>/sweep.json for `lrnn compare <DIR>`. Every grid value and
// every point is validated against the recipe before anything runs or is written (exit 2 naming the key).
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type GridAxis, parseGridSpec, planGrid, type PlannedRun, seedAxis } from '../config/grid.ts';
import { ConfigError, resolveRecipePath } from '../config/load.ts';
import { RunObjectSchema } from '../config/schema.ts';
import { textTable } from '../eval/table.ts';
import { shellQuote } from '../parallel/launch.ts';
import { type SweepIndex, type SweepRunEntry, type SweepRunStatus, writeSweepIndex } from '../eval/sweep_index.ts';
import { type ChildJob, runPool } from './child_pool.ts';
import { numberFlag, parseFlags, type Command } from './command.ts';
import { UsageError } from './errors.ts';
import { decideRun, lastDone, type RunDecision, supersede } from './sweep_plan.ts';

const BIN = fileURLToPath(new URL('../../bin/lrnn.js', import.meta.url));
const SECTIONS = Object.keys(RunObjectSchema.shape);
/** `--section.key=value` (or a top-level key) of the run schema: a recipe override for every run. */
const isOverride = (a: string) => {
  const m = /^--([A-Za-z_][A-Za-z0-9_]*)[.=]/.exec(a);
  return !!m && SECTIONS.includes(m[1]!) && a.includes('=');
};
const CODES = { SIGINT: 130, SIGTERM: 143 } as const;

export const sweep: Command = {
  name: 'sweep',
  summary: 'train the cross product of recipe overrides (e.g. learning rate × allow_neg_eigval), resumably',
  usage: `Usage: lrnn sweep RECIPE --grid KEY=V1,V2,… [--grid KEY=…] [--seeds 0,1] [--section.key=value …]
                  [--jobs N] [--procs N|auto] [--out DIR] [--dry-run] [--json]

Trains one run per point of the cross product of the --grid lists (first --grid outermost), each an ordinary
run folder DIR/<run name> (e.g. DIR/lr-0.001_allow_neg_eigval-true) made by a child 'lrnn train', exactly as
  lrnn train RECIPE [--section.key=value …] --KEY=V … --out_dir=DIR --name=<run name>
KEY is any recipe key (train.lr, model.allow_neg_eigval, data.seq_len, …); values are typed by the recipe
schema, and a value with commas goes in brackets or quotes (--grid 'data.weights=[1,1],[2,1]').
--seeds 0,1 is a grid on train.seed (last). --section.key=value overrides apply to every run.
Before anything runs, every value and every point is checked against the recipe: an unknown key, a wrong
type, an empty list or a repeated value is refused naming the key (exit 2, nothing written).
  --out DIR    the sweep folder (default <out_dir>/sweep-<recipe name>, e.g. checkpoints/sweep-tiny)
  --jobs N     runs at a time (default 1); with N > 1 each run's node has --single-threaded-gc
  --procs P    passed to each run's 'lrnn train --procs P': with --jobs 1 a run uses every core by default
               (lrnn train --help), with --jobs N > 1 each run is pinned to one process and one thread
               unless --procs says otherwise (N runs then use N cores)
  --dry-run    print the plan and the commands; run and write nothing
Run the same command again to continue: a finished run (same resolved config, metrics.jsonl 'done' as
completed or stopped on NaN/Inf) is reused, an interrupted one resumed from its newest checkpoint (lrnn train
--resume), one whose resolved config differs (the recipe or an override changed) is moved to
DIR/superseded/ and trained again, and one that stopped before its first checkpoint starts over.
DIR/sweep.json indexes the runs: overrides, what was done, status, step, tokens; DIR/logs/<run>.log holds
each child's output (also echoed here, prefixed [run]). Compare them with 'lrnn compare DIR'.
Ctrl-C or SIGTERM is passed to the running children (each stops after its step with a checkpoint) and no new
run starts; a second one makes them quit at once. Exit codes: 0 every run finished (a run stopped on NaN/Inf
is a result), 1 some run failed (see its log), 2 bad grid, recipe or sweep folder, 130/143 interrupted.`,
  async run(argv) {
    const fixed = argv.filter(isOverride);
    const { values, positionals } = parseFlags(argv.filter((a) => !isOverride(a)), {
      grid: { type: 'string', multiple: true },
      seeds: { type: 'string' },
      jobs: { type: 'string' },
      procs: { type: 'string' },
      out: { type: 'string' },
      'dry-run': { type: 'boolean' },
    }, true);
    if (positionals.length !== 1) throw new UsageError(positionals.length ? `expected one RECIPE, got ${positionals.join(' ')}` : 'missing RECIPE (e.g. lrnn sweep tiny --grid train.lr=1e-3,3e-3); see lrnn sweep --help');
    const recipe = positionals[0]!;
    const jobs = numberFlag('jobs', values.jobs, 1, { int: true, min: 1 });
    const procs = values.procs ?? (jobs > 1 ? '1' : undefined);
    if (procs !== undefined && procs !== 'auto') numberFlag('procs', procs, 1, { int: true, min: 1 });

    // --- the plan: every point validated, every run folder looked at; nothing written yet
    let axes: GridAxis[], planned: PlannedRun[], dir: string;
    const recipePath = (() => {
      try {
        return resolveRecipePath(recipe);
      } catch (e) {
        throw e instanceof ConfigError ? new UsageError(e.message) : e;
      }
    })();
    try {
      axes = (values.grid ?? []).map((g) => parseGridSpec(g));
      if (values.seeds !== undefined) axes.push(seedAxis(values.seeds));
      ({ runs: planned, outDir: dir } = planGrid(recipe, fixed, axes, values.out));
    } catch (e) {
      if (e instanceof ConfigError) throw new UsageError(e.message);
      throw e;
    }
    for (const d of new Set(planned.map((p) => p.config.data.dir))) {
      if (!existsSync(path.join(d, 'manifest.json'))) {
        throw new UsageError(`data.dir: '${d}' has no manifest.json (no prepared dataset there): run 'lrnn prepare --out ${d}' first (a sweep prepares nothing itself, so its runs never race to)`);
      }
    }
    const decisions: RunDecision[] = planned.map((p) => decideRun(path.join(dir, p.name), p.config));
    const planRows = planned.map((p, i) => [p.name, decisions[i]!.action, decisions[i]!.why]);
    const trainArgs = (name: string, i: number): string[] => {
      const d = decisions[i]!, p = planned[i]!;
      const how = [...(procs !== undefined ? ['--procs', procs] : []), '--json'];
      return d.action === 'resume'
        ? [BIN, 'train', '--resume', path.join(dir, name), ...how]
        : [BIN, 'train', recipePath, ...fixed, ...p.args, `--out_dir=${dir}`, `--name=${name}`, '--no-prepare', ...how];
    };
    if (values['dry-run']) {
      console.log(textTable(['run', 'action', 'why'], planRows));
      for (let i = 0; i < planned.length; ++i) if (decisions[i]!.action !== 'reuse') console.log(`lrnn ${shellQuote(trainArgs(planned[i]!.name, i).slice(1))}`);
      return 0;
    }

    // --- run
    mkdirSync(dir, { recursive: true });
    const unlock = lock(dir);
    try {
      console.error(`lrnn sweep: ${planned.length} runs in ${dir} (${jobs} at a time)\n${textTable(['run', 'action', 'why'], planRows)}`);
      const entries: SweepRunEntry[] = planned.map((p, i) => {
        const d = decisions[i]!;
        return {
          name: p.name, dir: p.name, overrides: p.overrides, args: p.args, action: d.action,
          status: d.action === 'reuse' ? d.done!.status as SweepRunStatus : 'pending', exit_code: null,
          step: d.done?.step ?? null, tokens_seen: d.done?.tokens_seen ?? null, wall_s: null, log: null,
        };
      });
      const index: SweepIndex = {
        format: 'lrnn-sweep', version: 1, recipe, recipe_path: path.relative(process.cwd(), recipePath) || recipePath, overrides: fixed,
        grid: axes.map((a) => ({ key: a.key, values: a.texts })), jobs, updated: new Date().toISOString(), runs: entries,
      };
      const save = () => { index.updated = new Date().toISOString(); writeSweepIndex(dir, index); };
      for (let i = 0; i < planned.length; ++i) {
        if (decisions[i]!.action === 'rerun') {
          const runDir = path.join(dir, planned[i]!.name);
          if (existsSync(runDir)) console.error(`lrnn sweep: ${planned[i]!.name}: ${decisions[i]!.why}; moved the old run to ${supersede(dir, runDir)}`);
        }
      }
      save();
      // Runs side by side share the cores, and each one's V8 parallel GC threads steal time from the others'
      // training (the same reason MPI ranks sharing a host get the flag, parallel/launch.ts rankNodeFlags).
      const nodeFlags = jobs > 1 ? ['--single-threaded-gc'] : [];
      const todo: (ChildJob & { i: number })[] = [];
      planned.forEach((p, i) => {
        if (decisions[i]!.action !== 'reuse') todo.push({ i, name: p.name, argv: [...nodeFlags, ...trainArgs(p.name, i)], logFile: path.join(dir, 'logs', `${p.name}.log`) });
      });
      const stoppedBy = await runPool(todo, jobs, {
        echo: (l) => console.error(l),
        onStart: (job) => {
          const e = entries[(job as (typeof todo)[number]).i]!;
          e.status = 'running';
          e.log = path.relative(dir, job.logFile);
          save();
        },
        onEnd: (job, end) => {
          const e = entries[(job as (typeof todo)[number]).i]!;
          let done = null;
          try {
            done = lastDone(path.join(dir, job.name));
          } catch { /* a corrupt metrics file: the run failed */ }
          e.exit_code = end.code;
          e.wall_s = Math.round(end.wall_s * 10) / 10;
          e.status = end.code === 0 && done ? done.status
            : end.code === 1 && done?.status === 'stopped_nonfinite' ? 'stopped_nonfinite'
            : end.code === 130 || end.code === 143 ? 'interrupted' : 'failed';
          e.step = done?.step ?? e.step;
          e.tokens_seen = done?.tokens_seen ?? e.tokens_seen;
          save();
          console.error(`lrnn sweep: ${job.name}: ${e.status} (exit ${end.code}${done ? `, step ${done.step}` : ''}, ${e.wall_s} s)${e.status === 'failed' ? `; see ${job.logFile}` : ''}`);
        },
      });
      save();
      const failed = entries.filter((e) => e.status === 'failed');
      if (values.json) console.log(JSON.stringify(index));
      else {
        console.log(textTable(['run', 'action', 'status', 'step', 'tokens seen', 'exit', 'wall s'],
          entries.map((e) => [e.name, e.action, e.status, e.step, e.tokens_seen, e.exit_code, e.wall_s === null ? null : e.wall_s.toFixed(1)])));
        console.log(`\nwrote ${path.join(dir, 'sweep.json')}; compare with: lrnn compare ${dir}`);
      }
      if (stoppedBy) {
        console.error(`lrnn sweep: stopped by ${stoppedBy}; run the same command again to continue`);
        return CODES[stoppedBy as keyof typeof CODES] ?? 130;
      }
      if (failed.length) {
        console.error(`lrnn sweep: ${failed.length} run(s) failed: ${failed.map((e) => `${e.name} (exit ${e.exit_code}, ${path.join(dir, e.log ?? '')})`).join(', ')}`);
        return 1;
      }
      return 0;
    } finally {
      unlock();
    }
  },
};

/** Takes <dir>/.sweep.lock (two sweeps on one folder would train the same runs twice); returns the release. */
function lock(dir: string): () => void {
  const file = path.join(dir, '.sweep.lock');
  for (let attempt = 0; attempt < 2; ++attempt) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (pid && pid !== process.pid && alive(pid)) throw new UsageError(`--out ${dir}: another lrnn sweep (pid ${pid}) is running in this folder (${file})`);
      rmSync(file, { force: true }); // left by a sweep that died
    }
  }
  throw new UsageError(`--out ${dir}: cannot take ${file}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
