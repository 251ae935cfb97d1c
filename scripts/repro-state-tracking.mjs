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
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const lrnnBin = path.join(root, 'bin', 'lrnn.js');

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '0,1,2' }, tasks: { type: 'string', default: 'parity,modular' },
    archs: { type: 'string', default: 'deltanet,mamba' }, steps: { type: 'string' }, jobs: { type: 'string', default: '1' },
    force: { type: 'boolean' }, report: { type: 'string', default: 'eval/reports/state-tracking.md' },
    'dry-run': { type: 'boolean' }, adopt: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(readFileSync(new URL(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n'));
  process.exit(0);
}
const fail = (msg) => { console.error(`repro-state-tracking: ${msg}`); process.exit(2); };
const seeds = values.seeds.split(',').map((s) => Number(s.trim()));
if (seeds.some((s) => !Number.isInteger(s) || s < 0)) fail(`--seeds: expected non-negative integers, got '${values.seeds}'`);
const tasks = values.tasks.split(',').map((s) => s.trim());
// Recipe prefix → task name; brackets and s5 (S5 only swaps) are extra columns, not in the default grid.
const TASK_OF = { parity: 'parity', modular: 'modular', brackets: 'modular_brackets', s5: 's5_swaps' };
for (const t of tasks) if (!TASK_OF[t]) fail(`--tasks: unknown task '${t}' (${Object.keys(TASK_OF).join(', ')})`);
const archs = values.archs.split(',').map((s) => s.trim());
for (const a of archs) if (!['deltanet', 'mamba'].includes(a)) fail(`--archs: unknown arch '${a}' (deltanet, mamba)`);
const jobs = Number(values.jobs);
if (!Number.isInteger(jobs) || jobs < 1) fail(`--jobs: expected a positive integer`);
if (values.steps !== undefined && !(Number.isInteger(Number(values.steps)) && Number(values.steps) > 0)) fail('--steps: expected a positive integer');

const reportPath = path.resolve(root, values.report);
const resultsPath = reportPath.replace(/\.md$/, '') + '.json';
const results = existsSync(resultsPath) ? JSON.parse(readFileSync(resultsPath, 'utf8')) : { runs: {} };

const runs = [];
for (const task of tasks) for (const arch of archs) for (const neg of [false, true]) for (const seed of seeds) {
  const recipe = `${task}-${arch}${neg ? '-negeig' : ''}`;
  runs.push({ key: `${recipe}-s${seed}${values.steps ? `-steps${values.steps}` : ''}`, recipe, task, arch, neg, seed });
}

/** The recipe overrides a run of this invocation trains with (its seed, and --steps when given). */
function runOverrides(seed) {
  const args = [`--train.seed=${seed}`];
  if (values.steps) {
    const steps = Number(values.steps);
    args.push(`--train.steps=${steps}`, `--train.warmup=${Math.max(1, Math.round(steps / 10))}`);
  }
  return args;
}

function runOne(r) {
  const overrides = runOverrides(r.seed);
  const args = [lrnnBin, 'task', 'train', r.recipe, ...overrides, `--name=${r.key}`, '--json'];
  console.error(`[${new Date().toISOString().slice(11, 19)}] ${r.key}: lrnn ${args.slice(1).join(' ')}`);
  if (values['dry-run']) return Promise.resolve(null);
  return new Promise((resolve) => {
    // Parallel jobs: V8's GC helper threads compete for the cores the other jobs train on. Two modular DeltaNet runs
    // side by side on 2 cores (both with --max-semi-space-size=32) took 411 ms/step each, and 314 ms/step with
    // --single-threaded-gc added; alone, the larger young generation took a run from 262 to 254 ms/step.
    const nodeArgs = ['--max-semi-space-size=32', ...(jobs > 1 ? ['--single-threaded-gc'] : [])];
    const child = spawn(process.execPath, [...nodeArgs, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; for (const l of String(d).split('\n')) if (/^(test|step \d+0{2}\/)/.test(l)) console.error(`  ${r.key}: ${l}`); });
    child.on('close', (code) => {
      if (code !== 0) {
        console.error(`  ${r.key} failed (exit ${code}):\n${err.split('\n').slice(-10).join('\n')}`);
        resolve(null);
        return;
      }
      const summary = JSON.parse(out.trim().split('\n').pop());
      const config = runConfig(summary.checkpoint);
      resolve({ ...r, ...summary, final_loss_mean_of: Math.min(FINAL_LOSS_STEPS, summary.steps), task: r.task, task_name: summary.task, by_length_bucket: lengthBuckets(summary.checkpoint), finished_at: new Date().toISOString(), overrides, config });
    });
  });
}

/** Steps averaged into a run's reported train loss (as `lrnn task train` does). */
const FINAL_LOSS_STEPS = 50;

/** The records of a run's metrics.jsonl, given its checkpoint folder (RUN/final). */
function runMetrics(checkpoint) {
  const file = path.join(path.resolve(root, path.dirname(checkpoint)), 'metrics.jsonl');
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

/** Mean loss of the last FINAL_LOSS_STEPS step records, and how many were averaged. */
function finalLoss(metrics) {
  const tail = metrics.filter((x) => x.kind === 'step').slice(-FINAL_LOSS_STEPS);
  return { final_train_loss: tail.reduce((a, x) => a + x.loss, 0) / tail.length, final_loss_mean_of: tail.length };
}

/** Test accuracy in 32-long length buckets from 40, read from the run's metrics.jsonl final eval record. */
function lengthBuckets(checkpoint) {
  try {
    const rec = runMetrics(checkpoint).filter((x) => x.kind === 'eval' && x.by_length).pop();
    const out = {};
    for (const [len, row] of Object.entries(rec.by_length)) {
      const b = 40 + Math.floor((Number(len) - 40) / 32) * 32;
      const k = `${b}-${Math.min(b + 31, 256)}`;
      out[k] ??= { n: 0, correct: 0 };
      out[k].n += row.n; out[k].correct += row.correct;
    }
    return out;
  } catch {
    return null;
  }
}

/** A task config's fields that define the run: all but its name and output folder. */
const recipeFields = ({ name: _n, out_dir: _o, ...rest }) => rest;

/** The recipe fields of the run whose checkpoint folder (RUN/final) is given, from its task.json; null if it is gone. */
function runConfig(checkpoint) {
  const file = path.join(path.resolve(root, checkpoint), 'task.json');
  return existsSync(file) ? recipeFields(JSON.parse(readFileSync(file, 'utf8')).config) : null;
}

/**
 * The recipe fields of task recipes under overrides ([{ recipe, overrides, recorded? }]), resolved by the CLI's own
 * loader in one child process; an entry is { error } where the recipe no longer loads. A `recorded` config (a run's
 * task.json) comes back as `recorded` passed through the same schema, so keys added since that run read as their
 * defaults, which is how it trained.
 */
function recipeConfigs(specs) {
  const schema = JSON.stringify(path.join(root, 'src', 'tasks', 'schema.ts'));
  const code = `const { loadTaskConfig, validateTaskConfig } = await import(${schema});
    const out = ${JSON.stringify(specs)}.map((s) => {
      try {
        return { want: loadTaskConfig(s.recipe, s.overrides).config, recorded: s.recorded ? validateTaskConfig({ name: 'recorded', ...s.recorded }, 'recorded run') : null };
      } catch (e) { return { error: String(e.message ?? e) }; }
    });
    process.stdout.write(JSON.stringify(out));`;
  const out = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: root, encoding: 'utf8' }));
  return out.map((c) => (c.error ? c : { want: recipeFields(c.want), recorded: c.recorded && recipeFields(c.recorded) }));
}

/** Leaf paths where two JSON values differ. */
function diffPaths(a, b, at = '') {
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) || Array.isArray(b)) {
    return JSON.stringify(a) === JSON.stringify(b) ? [] : [`${at.slice(1)} (run ${JSON.stringify(a)}, recipe ${JSON.stringify(b)})`];
  }
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].flatMap((k) => diffPaths(a[k], b[k], `${at}.${k}`));
}

/** An --adopt spec parsed, with its run's task.json read: what adopt() needs besides the recipe's resolved config. */
function readAdoption(spec) {
  const m = /^(([a-z0-9]+)-(deltanet|mamba)(-negeig)?)-s(\d+)=(.+)$/.exec(spec);
  if (!m || !TASK_OF[m[2]]) fail(`--adopt ${spec}: expected TASK-ARCH[-negeig]-sN=RUN_DIR`);
  const [, recipe, task, arch, negeig, seedStr, dirArg] = m;
  const dir = path.resolve(root, dirArg);
  const infoFile = path.join(dir, 'final', 'task.json');
  if (!existsSync(infoFile)) fail(`--adopt ${spec}: ${path.relative(root, infoFile)} not found (is the run finished?)`);
  const info = JSON.parse(readFileSync(infoFile, 'utf8'));
  return { spec, recipe, task, arch, negeig, seedStr, dir, infoFile, info, overrides: [`--train.seed=${Number(seedStr)}`] };
}

/** Records an adoption after checking its config against `res`, the recipe's (from recipeConfigs). */
function adopt({ spec, recipe, task, arch, negeig, seedStr, dir, infoFile, info, overrides }, res) {
  if (res.error) fail(`--adopt ${spec}: ${res.error}`);
  const config = recipeFields(info.config);
  const diff = diffPaths(res.recorded, res.want);
  if (diff.length) fail(`--adopt ${spec}: the run's config differs from recipe ${recipe} at seed ${seedStr}:\n  ${diff.join('\n  ')}`);
  if (!info.test) fail(`--adopt ${spec}: the run has no test evaluation`);
  const checkpoint = path.relative(root, path.join(dir, 'final'));
  const key = `${recipe}-s${seedStr}`;
  if (results.runs[key] && results.runs[key].checkpoint !== checkpoint) supersede(key, `replaced by the run adopted from ${path.relative(root, dir)}`);
  // A run superseded earlier and now adopted again (its recipe changed back) leaves the superseded list.
  for (const [k, s] of Object.entries(results.superseded ?? {})) if (s.checkpoint === checkpoint) delete results.superseded[k];
  results.runs[key] = {
    key, recipe, task, arch, neg: Boolean(negeig), seed: Number(seedStr), name: info.config.name, allow_neg_eigval: info.config.model.allow_neg_eigval,
    steps: info.steps, batch_size: info.config.train.batch_size, wall_s: info.wall_s,
    ...finalLoss(runMetrics(checkpoint)),
    test: { accuracy: info.test.accuracy, scaled_accuracy: info.test.scaledAccuracy, examples: info.test.examples, min_length: info.test.minLength, max_length: info.test.maxLength },
    checkpoint, task_name: info.task, by_length_bucket: lengthBuckets(checkpoint),
    finished_at: statSync(infoFile).mtime.toISOString(), adopted_from: path.relative(root, dir), overrides, config,
  };
  console.error(`adopted ${path.relative(root, dir)} as ${key}: test scaled accuracy ${info.test.scaledAccuracy.toFixed(3)}`);
}

/** Moves a recorded run out of the report's tables into results.superseded (kept, with the reason). */
function supersede(key, reason) {
  const r = results.runs[key];
  results.superseded ??= {};
  results.superseded[`${key}@${r.finished_at ?? 'unknown'}`] = { ...r, superseded_because: reason };
  delete results.runs[key];
  console.error(`${key}: superseded (${reason})`);
}

/**
 * A recorded run stands only while its recipe (at its seed and overrides) still resolves to the config it was trained
 * with, so a changed recipe retrains instead of mixing budgets in one table. Records from before configs were kept
 * are checked through their run folder's task.json, or by steps and batch when that folder is gone.
 */
function supersedeStale(recs, recorded, resolved) {
  let changed = false;
  recs.forEach((r, i) => {
    const { error, want, recorded: have } = resolved[i];
    if (error) { supersede(r.key, `recipe ${r.recipe}: ${error}`); changed = true; return; }
    const diff = have ? diffPaths(have, want) : diffPaths({ steps: r.steps, batch_size: r.batch_size }, { steps: want.train.steps, batch_size: want.train.batch_size });
    if (diff.length) { supersede(r.key, `recipe changed: ${diff.join('; ')}`); changed = true; } else if (!r.config && recorded[i]) { r.config = recorded[i]; changed = true; }
  });
  return changed;
}

// Every recipe the script checks is resolved in one child process (each costs a tsx start-up): the modular recipe
// (quoted in the report's header), every recorded run's, and every --adopt's.
const recs = Object.values(results.runs);
const recordedConfigs = recs.map((r) => r.config ?? (r.checkpoint ? runConfig(r.checkpoint) : null));
const adoptions = (values.adopt ?? []).map(readAdoption);
const [modularResolved, ...resolved] = recipeConfigs([
  { recipe: 'modular-deltanet', overrides: [] },
  ...recs.map((r, i) => ({ recipe: r.recipe, overrides: r.overrides ?? [`--train.seed=${r.seed}`], recorded: recordedConfigs[i] })),
  ...adoptions.map((a) => ({ recipe: a.recipe, overrides: a.overrides, recorded: a.info.config })),
]);
/** The modular-arithmetic recipe as it stands (its budget is quoted in the report's header). */
const MODULAR_RECIPE = modularResolved.error ? {} : modularResolved.want;
const staleChanged = supersedeStale(recs, recordedConfigs, resolved.slice(0, recs.length));
adoptions.forEach((a, i) => adopt(a, resolved[recs.length + i]));
if ((staleChanged && !values['dry-run']) || values.adopt?.length) writeFileSync(resultsPath, JSON.stringify(results, null, 2) + '\n');

// Results recorded before the length buckets existed get them from their run folders, and those recorded when the
// final loss was the last batch's get the mean of the last 50 steps (what `lrnn task train` reports now).
for (const r of Object.values(results.runs)) {
  if (!r.by_length_bucket && r.checkpoint) r.by_length_bucket = lengthBuckets(r.checkpoint);
  if (!r.final_loss_mean_of && r.checkpoint) {
    try {
      Object.assign(r, finalLoss(runMetrics(r.checkpoint)));
    } catch { /* run folder gone: keep the recorded value */ }
  }
}

const todo = runs.filter((r) => values.force || !results.runs[r.key]);
console.error(`${runs.length} runs selected, ${runs.length - todo.length} already done, ${todo.length} to train (jobs ${jobs})`);
let next = 0;
async function worker() {
  while (next < todo.length) {
    const r = todo[next++];
    const res = await runOne(r);
    if (res) {
      if (results.runs[r.key]) supersede(r.key, 'retrained with --force');
      results.runs[r.key] = res;
      mkdirSync(path.dirname(resultsPath), { recursive: true });
      writeFileSync(resultsPath, JSON.stringify(results, null, 2) + '\n');
      writeReport();
    }
  }
}

// The paper's numbers (docs/paper-notes.md §5.1 Table 3: best of 3 seeds; §5.2 Table 5: median ± MAD).
const PAPER = {
  'mamba-false': { parity: [0.000, '0.000 ± 0.000'], modular: [0.095, '0.066 ± 0.029'] },
  'mamba-true': { parity: [1.000, '1.000 ± 0.000'], modular: [0.241, '0.214 ± 0.027'] },
  'deltanet-false': { parity: [0.017, '0.010 ± 0.005'], modular: [0.314, '0.214 ± 0.056'] },
  'deltanet-true': { parity: [1.000, '0.999 ± 0.006'], modular: [0.971, '0.826 ± 0.146'] },
};
const LABEL = { deltanet: 'DeltaNet', mamba: 'Mamba' };
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const f3 = (x) => (x === undefined || x === null || Number.isNaN(x) ? '–' : x.toFixed(3));

function cell(list) {
  if (!list.length) return { best: null, med: null, mad: null, n: 0 };
  const xs = list.map((r) => r.test.scaled_accuracy);
  const med = median(xs);
  return { best: Math.max(...xs), med, mad: median(xs.map((x) => Math.abs(x - med))), n: xs.length };
}

// Measured once, by hand, before the modular recipes were fixed (2026-11-29, DeltaNet, seed 0, 2 busy cores);
// kept as text because those runs were stopped early or used older recipes.
const MODULAR_PILOTS = [
  '## Modular arithmetic: how the budget was chosen', '',
  'Pilot runs, DeltaNet, seed 0, the paper\'s uniform training lengths 3–39 (no curriculum):', '',
  '- [-1,1] and [0,1], 1,500 steps × 32, lr 2e-3 (the first recipe): test scaled accuracy 0.011 and −0.013; train loss 1.46 / 1.50 (ln 5 = 1.61).',
  '- [-1,1], batch 128, lr 2e-3: training accuracy 0.26 at step 850, test scaled accuracy 0.004 at its step-750 eval (stopped at 900).',
  '- [-1,1], batch 128, lr 1e-3: training accuracy 0.28 at step 1,150 (chance is 0.20), test scaled accuracy 0.004 at its step-1,000 eval (stopped).',
  '',
  'With the length curriculum (same model, 2 layers, lr 1e-3, batch 128, 4000 steps), seed 0 scored on held-out examples of the training',
  'lengths 3–39 (scaled): [-1,1] 0.31 / 0.87 / 0.97 / 0.99 at steps 1,000 / 1,500 / 2,000 / 3,750, and [0,1] 0.19 / 0.21 / 0.28 / 0.41;',
  'on test lengths 40–256 [-1,1] climbed from 0.25 at step 2,000 to 0.56, [0,1] stayed near chance (−0.025 to 0.033). Each',
  'run\'s metrics.jsonl has an eval every 250 steps on both length ranges.',
  '',
  'Those two runs and four more make the 3-seed grid in the tables above (2 layers, the reference repo\'s YAMLs and the',
  'issue\'s setting): [-1,1] 0.561 / 0.229 / 0.302 and [0,1] 0.033 / 0.033 / 0.009, a median gap of 0.269. Four changes were',
  'tried to lift the weaker seeds and not kept:',
  '',
  '- 8,000 steps (2 layers): seed 1 of [-1,1] peaked at 0.273 (step 6,500) and ended at 0.224; [0,1] seed 0 ended at 0.023.',
  '  Stopped after those two runs.',
  '- 3 layers (the paper\'s depth for modular arithmetic), 4,000 steps, all 6 runs (listed under "Superseded runs"):',
  '  [-1,1] 0.258 / 0.395 / 0.341, [0,1] 0.082 / 0.077 / 0.092. [0,1] now fit the training lengths too (0.80–0.95 scaled',
  '  on held-out training-length examples at step 3,500, against 0.41 with 2 layers). These ran two at a time with',
  '  `node --single-threaded-gc`, hence ≈ 25 min each against 40–58 min for the 2-layer runs (2–4 at a time, default GC).',
  '- Training lengths drawn with P(l) ∝ l (`task.train_length_weighting = "linear"`: the same range 3–39, mean length 27',
  '  instead of 21), 2 layers, 4,000 steps, ≈ 21 min per run two at a time: [-1,1] 0.199 / 0.458 / 0.170, [0,1] 0.136 / −0.001',
  '  (seed 2 stopped at the start, once the [-1,1] median was known). Seed 1, the first one tried because it was the',
  '  weakest uniform seed, doubled (0.229 → 0.458); seeds 0 and 2 fell, so the median went down (0.302 → 0.199).',
  '  All three [-1,1] seeds fit the training lengths (0.97–1.00 scaled on held-out examples), as with uniform lengths;',
  '  [0,1] fit them better than before (0.94 / 0.54 against 0.41 / 0.41), and its seed 0 reached 0.136 on 40–256: the',
  '  gap shrank on both sides.',
  '- lr 2e-3 (with the curriculum), [-1,1] seed 1: 0.73 scaled on held-out training-length examples at step 3,000, against',
  '  0.97 at lr 1e-3; stopped there.',
  '',
  'Rescored on 8,192 test examples (the paper\'s count; `lrnn task eval --task modular --n 8192 --seed 1000`, lengths',
  '40–256; the recipes\' 256 give ≈ ±0.04 per run):',
  '',
  '| Depth | [-1,1] seeds 0 / 1 / 2 | [0,1] seeds 0 / 1 / 2 | median gap | best-of-3 gap |',
  '|---|---|---|---|---|',
  '| 2 layers (recipe) | 0.507 / 0.220 / 0.263 | 0.003 / 0.009 / −0.012 | 0.260 | 0.498 |',
  '| 3 layers | 0.249 / 0.345 / 0.327 | 0.067 / 0.073 / 0.044 | 0.260 | 0.272 |',
  '',
  'So the depth did not move the median gap, and the 3-layer best-of-3 pass on 256 examples (0.303) was noise; the',
  'recipes stay at 2 layers.',
];

function writeReport() {
  const all = Object.values(results.runs).filter((r) => r.test);
  const by = (task, arch, neg) => all.filter((r) => r.task === task && r.arch === arch && r.neg === neg);
  const lines = [];
  lines.push('# State tracking: parity and modular arithmetic (paper Table 3 beside ours)', '');
  lines.push(`Generated by \`npm run repro:state-tracking\` (scripts/repro-state-tracking.mjs) on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC,`);
  lines.push(`${os.cpus().length} CPU cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), shared with other jobs. Raw per-run results: \`${path.relative(root, resultsPath)}\`.`, '');
  const nTest = (task) => [...new Set(all.filter((r) => r.task === task).map((r) => r.test.examples))].join('/') || '–';
  lines.push('Metric: scaled accuracy (acc − r)/(1 − r) on the answer token, r = 1/2 (parity) and 1/5 (modular), on the');
  lines.push(`fixed test set of each recipe (test_seed 1000, lengths 40–256; ${nTest('parity')} examples for parity, ${nTest('modular')} for modular`);
  lines.push('arithmetic; training lengths 3–40). Budgets are the recipes\' (recipes/tasks/_parity.toml, _modular.toml): 0.5% or less');
  const mod = MODULAR_RECIPE.train ? `${MODULAR_RECIPE.task.curriculum_steps} of ${MODULAR_RECIPE.train.steps}` : '(recipe did not load)';
  const linear = MODULAR_RECIPE.task?.train_length_weighting === 'linear';
  lines.push(`of the paper's 100k steps at batch 1024. The modular-arithmetic recipes add ${linear ? 'two things' : 'one thing'} the paper does not use, for`);
  lines.push('both eigenvalue ranges alike: a length curriculum (the longest training length grows from 5 to 39 over the first');
  lines.push(`${mod} steps, then the whole range 3–39)${linear ? ', and training lengths drawn with P(l) ∝ l instead of uniformly (mean 27' : '.'}`);
  if (linear) lines.push('instead of 21; the same range).');
  lines.push('Why, and what was tried: "Modular arithmetic: how the budget was chosen" below.', '');
  for (const [title, pick] of [['Best of seeds (paper: Table 3, best of 3)', 'best'], ['Median ± MAD over seeds (paper: Table 5)', 'med']]) {
    lines.push(`## ${title}`, '');
    lines.push('| Model | Parity (ours) | Parity (paper) | Mod. arith. w/o brackets (ours) | (paper) | seeds run |');
    lines.push('|---|---|---|---|---|---|');
    for (const arch of ['mamba', 'deltanet']) for (const neg of [false, true]) {
      const p = PAPER[`${arch}-${neg}`];
      const cp = cell(by('parity', arch, neg)), cm = cell(by('modular', arch, neg));
      const show = (c) => (c.n === 0 ? 'not run' : pick === 'best' ? f3(c.best) : `${f3(c.med)} ± ${f3(c.mad)}`);
      const paper = (x) => (pick === 'best' ? x[0].toFixed(3) : x[1]);
      lines.push(`| ${LABEL[arch]} ${neg ? '[-1,1]' : '[0,1]'} | ${show(cp)} | ${paper(p.parity)} | ${show(cm)} | ${paper(p.modular)} | ${cp.n} / ${cm.n} |`);
    }
    lines.push('');
  }
  lines.push('## Acceptance checks (issue 8), on the runs above', '');
  lines.push('The issue states these for 3 seeds; with fewer seeds run they are indicative only.', '');
  const check = (label, ok, detail) => lines.push(`- ${ok === null ? 'NOT RUN' : ok ? 'PASS' : 'FAIL'}: ${label}${detail ? ` (${detail})` : ''}`);
  for (const arch of ['deltanet', 'mamba']) {
    const neg = cell(by('parity', arch, true)), pos = cell(by('parity', arch, false));
    check(`${LABEL[arch]} [-1,1] parity median scaled accuracy ≥ 0.95`, neg.n ? neg.med >= 0.95 : null, neg.n ? `median ${f3(neg.med)}, best ${f3(neg.best)}, ${neg.n} seed(s)` : '');
    check(`${LABEL[arch]} [0,1] parity best scaled accuracy ≤ 0.10`, pos.n ? pos.best <= 0.10 : null, pos.n ? `best ${f3(pos.best)}, ${pos.n} seed(s)` : '');
  }
  const mn = cell(by('modular', 'deltanet', true)), mp = cell(by('modular', 'deltanet', false));
  // The issue does not say which statistic; the paper's Table 3 is best of 3 and Table 5 the median: both shown.
  check('modular w/o brackets: DeltaNet [-1,1] median beats DeltaNet [0,1] median by ≥ 0.3', mn.n && mp.n ? mn.med - mp.med >= 0.3 : null, mn.n && mp.n ? `${f3(mn.med)} vs ${f3(mp.med)}, ${mn.n} / ${mp.n} seed(s)` : '');
  check('modular w/o brackets: DeltaNet [-1,1] best of seeds beats DeltaNet [0,1] best by ≥ 0.3 (Table 3\'s statistic)', mn.n && mp.n ? mn.best - mp.best >= 0.3 : null, mn.n && mp.n ? `${f3(mn.best)} vs ${f3(mp.best)}` : '');
  lines.push('', '## Every run', '');
  lines.push('| Run | Task | Model | Seed | Steps | Batch | Wall time | Train loss (last 50 steps) | Test acc | Scaled acc |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of all.sort((a, b) => a.key.localeCompare(b.key))) {
    lines.push(`| ${r.key} | ${r.task} | ${LABEL[r.arch]} ${r.neg ? '[-1,1]' : '[0,1]'} | ${r.seed} | ${r.steps} | ${r.batch_size} | ${(r.wall_s / 60).toFixed(1)} min | ${f3(r.final_train_loss)} | ${f3(r.test.accuracy)} | ${f3(r.test.scaled_accuracy)} |`);
  }
  const withBuckets = all.filter((r) => r.by_length_bucket);
  if (withBuckets.length) {
    const keys = [...new Set(withBuckets.flatMap((r) => Object.keys(r.by_length_bucket)))].sort((a, b) => parseInt(a) - parseInt(b));
    lines.push('', '### Test accuracy by length', '', `| Run | ${keys.join(' | ')} |`, `|---|${keys.map(() => '---').join('|')}|`);
    for (const r of withBuckets) lines.push(`| ${r.key} | ${keys.map((k) => { const c = r.by_length_bucket[k]; return c ? (c.correct / c.n).toFixed(3) : '–'; }).join(' | ')} |`);
  }
  const superseded = Object.entries(results.superseded ?? {}).filter(([, r]) => r.test).sort(([a], [b]) => a.localeCompare(b));
  if (superseded.length) {
    lines.push('', '## Superseded runs', '', 'Runs recorded under an older recipe or replaced by a later run; kept in the JSON under `superseded`, not in the tables above.', '');
    lines.push('| Run | Seed | Steps | Batch | Wall time | Test scaled acc | Why superseded |', '|---|---|---|---|---|---|---|');
    for (const [, r] of superseded) lines.push(`| ${r.key} | ${r.seed} | ${r.steps} | ${r.batch_size} | ${(r.wall_s / 60).toFixed(1)} min | ${f3(r.test.scaled_accuracy)} | ${r.superseded_because} |`);
  }
  lines.push('', ...MODULAR_PILOTS);
  const adopted = all.filter((r) => r.adopted_from);
  if (adopted.length) lines.push('', `Runs recorded with --adopt (trained by \`lrnn task train\` with settings equal to the committed recipe's, checked field by field): ${adopted.map((r) => `${r.key} ← ${r.adopted_from}`).join(', ')}.`);
  lines.push('', 'Reproduce one run: `lrnn task train RECIPE --train.seed=N`; score a checkpoint on other lengths or your own');
  lines.push('JSON-lines test set: `lrnn task eval --checkpoint checkpoints/tasks/RUN --task parity [--min-len 40 --max-len 256] [--data FILE.jsonl] [--json]`.', '');
  const extra = all.filter((r) => r.task === 'brackets' || r.task === 's5');
  if (!extra.length) {
    const at = lines.indexOf('## Acceptance checks (issue 8), on the runs above');
    lines.splice(at, 0, 'Modular arithmetic with brackets and the S5 word problem (recipes/tasks/brackets-*, s5-*): not run for this report', '(`--tasks brackets,s5` adds them as a separate table).', '');
  }
  if (extra.length) {
    const at = lines.indexOf('## Acceptance checks (issue 8), on the runs above');
    const ex = ['## Other tasks (modular arithmetic with brackets; S5 only swaps)', '',
      'Brackets: scaled accuracy, paper Table 3 best of 3 beside ours. S5 only swaps: token accuracy scaled with r = 1/120 and',
      'sequence accuracy (every position right); the paper has no table for S5 (DeltaNet [-1,1] 1 layer learns it fully at',
      'length 500; [0,1] generalizes only slightly beyond training length 32). Mamba\'s transitions are diagonal and',
      'commute, so in either range they cannot compose the (non-abelian) S5 permutations exactly.', '',
      '| Model | Brackets best (ours) | Brackets median ± MAD (ours) | (paper best) | S5 swaps scaled, best | S5 swaps scaled, median ± MAD | S5 swaps sequence acc., best | seeds run |',
      '|---|---|---|---|---|---|---|---|'];
    const BR = { 'mamba-false': 0.123, 'mamba-true': 0.116, 'deltanet-false': 0.194, 'deltanet-true': 0.260 };
    for (const arch of ['mamba', 'deltanet']) for (const neg of [false, true]) {
      const cb = cell(by('brackets', arch, neg)), s5runs = by('s5', arch, neg), cs = cell(s5runs);
      const seqBest = s5runs.length ? Math.max(...s5runs.map((r) => r.test.sequence_accuracy ?? NaN)) : null;
      ex.push(`| ${LABEL[arch]} ${neg ? '[-1,1]' : '[0,1]'} | ${cb.n ? f3(cb.best) : 'not run'} | ${cb.n ? `${f3(cb.med)} ± ${f3(cb.mad)}` : 'not run'} | ${BR[`${arch}-${neg}`].toFixed(3)} | ${cs.n ? f3(cs.best) : 'not run'} | ${cs.n ? `${f3(cs.med)} ± ${f3(cs.mad)}` : 'not run'} | ${cs.n ? f3(seqBest) : 'not run'} | ${cb.n} / ${cs.n} |`);
    }
    ex.push('');
    lines.splice(at, 0, ...ex);
  }
  mkdirSync(path.dirname(reportPath), { recursive: true });
  writeFileSync(reportPath, lines.join('\n'));
}

await Promise.all(Array.from({ length: Math.min(jobs, Math.max(1, todo.length)) }, worker));
if (!values['dry-run']) {
  writeReport();
  console.error(`wrote ${path.relative(root, reportPath)}`);
}
