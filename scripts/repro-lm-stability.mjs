#!/usr/bin/env node
// `npm run repro:lm-stability`: trains the four paired small recipes (DeltaNet / Mamba × allow_neg_eigval
// false / true) at a CPU-feasible scale, evaluates each on the test splits, compares each pair with
// `lrnn compare`, and writes eval/reports/lm-stability.md (tables, SVG figures in eval/reports/lm-stability/,
// the paper's claims beside the results). Re-running skips runs that already finished (metrics.jsonl has a
// 'done' record) and resumes interrupted ones (`lrnn train --resume`); --force deletes and retrains them.
//
//   node --import tsx scripts/repro-lm-stability.mjs [--steps N] [--pairs deltanet,mamba] [--force]
//        [--data-dir DIR] [--runs-dir checkpoints] [--max-eval-tokens N] [--report eval/reports/lm-stability.md]
//        [--set section.key=value ...] [--dry-run]
//
// Hours, not minutes, on 2 cores at the recipes' 1,000 steps: pass --steps to shorten (the report says so).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const lrnnBin = path.join(root, 'bin', 'lrnn.js');

const { values } = parseArgs({
  options: {
    steps: { type: 'string' }, pairs: { type: 'string', default: 'deltanet,mamba' }, force: { type: 'boolean' },
    'data-dir': { type: 'string' }, 'runs-dir': { type: 'string', default: 'checkpoints' }, 'max-eval-tokens': { type: 'string', default: '65536' },
    set: { type: 'string', multiple: true, default: [] },
    report: { type: 'string', default: 'eval/reports/lm-stability.md' }, 'dry-run': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(readFileSync(new URL(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n'));
  process.exit(0);
}

const PAIRS = {
  deltanet: { label: 'DeltaNet small', arch: 'deltanet', base: 'deltanet-small', negeig: 'deltanet-small-negeig' },
  mamba: { label: 'Mamba small', arch: 'mamba', base: 'mamba-small', negeig: 'mamba-small-negeig' },
};
const pairs = values.pairs.split(',').map((p) => {
  const x = PAIRS[p.trim()];
  if (!x) fail(`--pairs: unknown pair '${p}' (known: ${Object.keys(PAIRS).join(', ')})`);
  return x;
});

function fail(msg) {
  console.error(`repro:lm-stability: ${msg}`);
  process.exit(1);
}

/** Runs `lrnn ...args`, streaming its output; returns stdout when capture is set. */
function lrnn(args, { capture = false, allowFail = false } = {}) {
  console.error(`$ lrnn ${args.join(' ')}`);
  if (values['dry-run']) return '';
  const r = spawnSync(process.execPath, [lrnnBin, ...args], { cwd: root, stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0 && !allowFail) fail(`'lrnn ${args.join(' ')}' exited with ${r.status}`);
  return capture ? r.stdout : String(r.status);
}

// 1. The trainer must exist.
const help = spawnSync(process.execPath, [lrnnBin, 'train', '--help'], { cwd: root, encoding: 'utf8' });
if (help.status !== 0) fail("'lrnn train' is not available in this checkout; the stability report needs real training runs");

// 2. Data: the recipes' data.dir, prepared once.
const recipeText = readFileSync(path.join(root, 'recipes', `${pairs[0].base}.toml`), 'utf8');
const dataDir = values['data-dir'] ?? /^\s*dir\s*=\s*"([^"]+)"/m.exec(recipeText)?.[1] ?? 'data/lrnn-mix';
if (!existsSync(path.join(root, dataDir, 'manifest.json'))) lrnn(['prepare', '--out', dataDir]);

// 3. Train the runs (skipping finished ones), 4. evaluate each on the test splits.
const overrides = [`--data.dir=${dataDir}`, `--out_dir=${values['runs-dir']}`, ...values.set.map((kv) => `--${kv}`), ...(values.steps ? [`--train.steps=${values.steps}`, `--train.warmup=${Math.min(50, Math.max(1, Math.floor(Number(values.steps) / 20)))}`] : [])];
const runDir = (name) => path.join(values['runs-dir'], name);
const finished = (name) => {
  const f = path.join(root, runDir(name), 'metrics.jsonl');
  return existsSync(f) && readFileSync(f, 'utf8').split('\n').some((l) => l.includes('"kind":"done"'));
};
const t0 = Date.now();
for (const p of pairs) {
  for (const name of [p.base, p.negeig]) {
    const dir = path.join(root, runDir(name));
    if (values.force && existsSync(dir) && !values['dry-run']) rmSync(dir, { recursive: true, force: true });
    const hasCheckpoint = existsSync(dir) && readdirSync(dir).some((f) => /^checkpoint-\d+$/.test(f));
    if (finished(name)) console.error(`${name}: already trained (use --force to retrain)`);
    else if (hasCheckpoint) lrnn(['train', '--resume', runDir(name)]); // an interrupted run
    else {
      // Interrupted before its first checkpoint (or never started): nothing to resume, train from scratch.
      if (existsSync(dir) && !values['dry-run']) rmSync(dir, { recursive: true, force: true });
      lrnn(['train', name, ...overrides]);
    }
    lrnn(['eval', '--checkpoint', runDir(name), '--splits', 'text,code,math', '--data-dir', dataDir, '--max-tokens', values['max-eval-tokens'],
      '--out', path.join(runDir(name), 'eval', 'test.json')]);
  }
}
const trainMinutes = (Date.now() - t0) / 60000;

// 5. Compare each pair into eval/reports/lm-stability/<arch>/, 6. write the report.
const reportFile = path.join(root, values.report);
const reportDir = path.dirname(reportFile);
const figDirName = path.basename(values.report, '.md');
const built = [];
for (const p of pairs) {
  const out = path.join(reportDir, figDirName, p.arch);
  const json = lrnn(['compare', runDir(p.base), runDir(p.negeig), '--out', path.relative(root, out), '--json'], { capture: true });
  if (values['dry-run']) continue;
  const { runs, files } = JSON.parse(json);
  built.push({
    label: p.label, arch: p.arch, base: runs[0], negeig: runs[1],
    figures: files.filter((f) => f.endsWith('.svg')).map((f) => path.relative(reportDir, path.resolve(root, f)).split(path.sep).join('/')),
  });
}
if (values['dry-run']) process.exit(0);
const { stabilityReport } = await import('../src/eval/stability_report.ts');
const setup = [
  `recipes: ${pairs.flatMap((p) => [p.base, p.negeig]).map((r) => `recipes/${r}.toml`).join(', ')} (each pair differs only in model.allow_neg_eigval)`,
  ...(values.set.length ? [`recipe overrides: ${values.set.map((kv) => `\`${kv}\``).join(', ')}`] : []),
  `steps: ${values.steps ? `${values.steps} (shortened with --steps; the recipes say 1,000)` : "the recipes' own"}; data: ${dataDir}; test evaluation capped at ${values['max-eval-tokens']} tokens per split`,
  `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; wall time of this invocation ${trainMinutes.toFixed(1)} min (0 when runs were reused)`,
  'command: `npm run repro:lm-stability' + (values.steps ? ` -- --steps ${values.steps}` : '') + '`',
];
mkdirSync(reportDir, { recursive: true });
writeFileSync(reportFile, stabilityReport(built, { setup, generated: new Date().toISOString() }));
console.error(`wrote ${path.relative(root, reportFile)}`);
