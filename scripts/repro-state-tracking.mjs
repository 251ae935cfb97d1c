#!/usr/bin/env node
// `npm run repro:state-tracking`: trains the task recipes (recipes/tasks/: parity and modular arithmetic
// without brackets; DeltaNet and Mamba; allow_neg_eigval false / true) over 3 seeds with `lrnn task train`,
// and writes eval/reports/state-tracking.md: our best-of-seeds and median ± MAD scaled accuracy on test
// lengths 40–256 beside the paper's Table 3 / Table 5, every run's seed, steps, batch and wall time, and the
// issue's acceptance checks evaluated on what was actually run. Finished runs are kept in
// eval/reports/state-tracking.json and skipped when the script runs again (--force retrains them).
//
//   node scripts/repro-state-tracking.mjs [--seeds 0,1,2] [--tasks parity,modular[,brackets,s5]] [--archs deltanet,mamba]
//        [--steps N] [--jobs N] [--force] [--report eval/reports/state-tracking.md] [--dry-run]
//        [--adopt KEY=RUN_DIR ...]
//
// --adopt records a run trained outside this script (e.g. a pilot launched with `lrnn task train` and the
// overrides that later became the recipe) under KEY (RECIPE-sN), after checking that its task.json config
// equals the recipe's at seed N in every field but name and out_dir; otherwise it refuses and names the fields.
//
// Budget on 2 cores, two runs at a time: DeltaNet ≈ 7–10 min per parity run, ≈ 25 min per modular run and
// 3–9 min per brackets / S5 run; Mamba ≈ 7–18 min per parity run, ≈ 13 min per modular run and 1–3 min per
// brackets / S5 run. --tasks/--archs/--seeds select a subset (the report lists exactly what was run), --steps
// shortens every run (the run keys and report say so).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { register } from 'tsx/esm/api';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '0,1,2' }, tasks: { type: 'string', default: 'parity,modular' },
    archs: { type: 'string', default: 'deltanet,mamba' }, steps: { type: 'string' }, jobs: { type: 'string', default: '1' },
    force: { type: 'boolean' }, report: { type: 'string', default: 'eval/reports/state-tracking.md' },
    'dry-run': { type: 'boolean' }, adopt: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  const lines = readFileSync(new URL(import.meta.url), 'utf8').split('\n').slice(1);
  console.log(lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).map((l) => l.slice(3)).join('\n'));
  process.exit(0);
}
// The run cache, the --adopt check and the training pool are src/tasks/repro_runs.ts, the report
// src/tasks/repro_report.ts; the lab notes the report ends with are eval/reports/state-tracking-notes.md.
// Recipes resolve from the repo root, as for the `lrnn task train` children.
process.chdir(root);
register();
const { ReproError, RunCache, TASK_OF, readAdoption, trainRuns } = await import('../src/tasks/repro_runs.ts');
const { stateTrackingReport } = await import('../src/tasks/repro_report.ts');
const fail = (msg) => { console.error(`repro-state-tracking: ${msg}`); process.exit(2); };
const seeds = values.seeds.split(',').map((s) => Number(s.trim()));
if (seeds.some((s) => !Number.isInteger(s) || s < 0)) fail(`--seeds: expected non-negative integers, got '${values.seeds}'`);
const tasks = values.tasks.split(',').map((s) => s.trim());
for (const t of tasks) if (!TASK_OF[t]) fail(`--tasks: unknown task '${t}' (${Object.keys(TASK_OF).join(', ')})`);
const archs = values.archs.split(',').map((s) => s.trim());
for (const a of archs) if (!['deltanet', 'mamba'].includes(a)) fail(`--archs: unknown arch '${a}' (deltanet, mamba)`);
const jobs = Number(values.jobs);
if (!Number.isInteger(jobs) || jobs < 1) fail(`--jobs: expected a positive integer`);
if (values.steps !== undefined && !(Number.isInteger(Number(values.steps)) && Number(values.steps) > 0)) fail('--steps: expected a positive integer');
const dryRun = Boolean(values['dry-run']);

const reportPath = path.resolve(root, values.report);
const log = (line) => console.error(line);
const cache = new RunCache(root, reportPath.replace(/\.md$/, '') + '.json', log);
const { results } = cache;

const runs = [];
for (const task of tasks) for (const arch of archs) for (const neg of [false, true]) for (const seed of seeds) {
  const recipe = `${task}-${arch}${neg ? '-negeig' : ''}`;
  runs.push({ key: `${recipe}-s${seed}${values.steps ? `-steps${values.steps}` : ''}`, recipe, task, arch, neg, seed });
}

let modularRecipe;
try {
  const adoptions = (values.adopt ?? []).map((spec) => readAdoption(root, spec));
  // Every recipe the script checks is resolved once: the modular recipe (quoted in the report's header), every
  // recorded run's (a changed recipe supersedes its runs), and every --adopt's.
  const checked = cache.checkRecorded(adoptions);
  modularRecipe = checked.modularRecipe;
  adoptions.forEach((a, i) => cache.adopt(a, checked.adoptionRecipes[i]));
  if ((checked.changed && !dryRun) || values.adopt?.length) cache.save();
} catch (e) {
  if (e instanceof ReproError) fail(e.message);
  throw e;
}
cache.backfill();

const notes = readFileSync(path.join(root, 'eval', 'reports', 'state-tracking-notes.md'), 'utf8');
function writeReport() {
  const cpu = os.cpus();
  const meta = { generated: new Date().toISOString().slice(0, 16).replace('T', ' '), cpus: cpu.length, cpuModel: cpu[0]?.model ?? 'unknown CPU', resultsFile: path.relative(root, cache.file), modularRecipe, notes };
  mkdirSync(path.dirname(reportPath), { recursive: true });
  writeFileSync(reportPath, stateTrackingReport(results, meta));
}

const todo = runs.filter((r) => values.force || !results.runs[r.key]);
console.error(`${runs.length} runs selected, ${runs.length - todo.length} already done, ${todo.length} to train (jobs ${jobs})`);
await trainRuns(cache, todo, {
  jobs, steps: values.steps ? Number(values.steps) : undefined, dryRun,
  onDone(r, res) {
    if (results.runs[r.key]) cache.supersede(r.key, 'retrained with --force');
    results.runs[r.key] = res;
    cache.save();
    writeReport();
  },
}, log);
if (!dryRun) {
  writeReport();
  console.error(`wrote ${path.relative(root, reportPath)}`);
}
