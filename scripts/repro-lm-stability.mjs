#!/usr/bin/env node
// `npm run repro:lm-stability`: the learning-rate sweep behind eval/reports/lm-stability.md. For each
// architecture it runs
//   lrnn sweep recipes/lm-stability-<arch>.toml --grid train.lr=<lrs> --grid model.allow_neg_eigval=false,true
//        --out checkpoints/lm-stability/<arch>
// (each run ends with its test perplexity per split, lrnn train's closing evaluation), reads each sweep folder
// as a stability map (lrnn compare <sweep dir>), and writes the report, its twin eval/reports/lm-stability.json
// (one object per run) and the SVG figures in eval/reports/lm-stability/<arch>/.
//
//   node --import tsx scripts/repro-lm-stability.mjs [--archs deltanet,mamba] [--lrs 1e-3,3e-3,1e-2,3e-2,1e-1]
//        [--seeds 0,1] [--jobs N] [--procs P] [--steps N] [--recipe NAME] [--set section.key=value ...]
//        [--sweeps-dir checkpoints/lm-stability] [--report eval/reports/lm-stability.md] [--report-only] [--dry-run]
//
// Resumable across sessions: run the same command again and the sweeps reuse finished runs, resume interrupted
// ones from their checkpoints and start the rest; the report is rebuilt every time from whatever runs have
// finished and says how many are missing. --report-only rebuilds it without training. Ctrl-C or SIGTERM stops
// the running runs after their step with a checkpoint, and the report is still written.
// Without --seeds every run uses the recipe's seed. Budget: 20 runs × 2.05M tokens (see the recipes for the model size); hours of both cores. --jobs 2 runs two
// at a time, each on one core (--procs 1); --jobs 1 lets each run use every core (data-parallel ranks).
// --steps N shrinks every run (warm-up, evaluation and checkpoint intervals scale with it) into its own sweep
// folder (<sweeps-dir>-steps<N>) and report (<report>-steps<N>.md), so a trial never touches the real runs;
// with --recipe tiny (and --set for a small dataset) it is the end-to-end check of the whole pipeline.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const lrnnBin = path.join(root, 'bin', 'lrnn.js');

const { values } = parseArgs({
  options: {
    archs: { type: 'string', default: 'deltanet,mamba' }, lrs: { type: 'string', default: '1e-3,3e-3,1e-2,3e-2,1e-1' }, seeds: { type: 'string' },
    jobs: { type: 'string', default: '1' }, procs: { type: 'string' }, steps: { type: 'string' }, recipe: { type: 'string' },
    set: { type: 'string', multiple: true, default: [] }, 'sweeps-dir': { type: 'string', default: 'checkpoints/lm-stability' },
    report: { type: 'string', default: 'eval/reports/lm-stability.md' }, 'report-only': { type: 'boolean' }, 'dry-run': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(readFileSync(new URL(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n'));
  process.exit(0);
}
const fail = (msg) => {
  console.error(`repro:lm-stability: ${msg}`);
  process.exit(2);
};

/** A path as the report shows it: relative to the checkout when inside it. */
const show = (p) => (path.relative(root, p).startsWith('..') ? p : path.relative(root, p));
const LABELS = { deltanet: 'DeltaNet', mamba: 'Mamba' };
const archs = values.archs.split(',').map((a) => a.trim());
for (const a of archs) if (!LABELS[a]) fail(`--archs: unknown architecture '${a}' (deltanet, mamba)`);
const lrs = values.lrs.split(',').map((s) => s.trim());
for (const l of lrs) if (!(Number(l) > 0)) fail(`--lrs: '${l}' is not a positive number`);
if (values.seeds !== undefined && !/^\d+(,\d+)*$/.test(values.seeds)) fail(`--seeds: expected e.g. 0,1, got '${values.seeds}'`);
const steps = values.steps === undefined ? null : Number(values.steps);
if (steps !== null && !(Number.isInteger(steps) && steps > 0)) fail('--steps: expected a positive integer');

const suffix = steps === null ? '' : `-steps${steps}`;
const sweepsDir = values['sweeps-dir'] + suffix;
const reportFile = path.resolve(root, steps === null ? values.report : values.report.replace(/\.md$/, '') + `${suffix}.md`);
const reportDir = path.dirname(reportFile);
const figRoot = path.join(reportDir, path.basename(reportFile, '.md'));
const recipeOf = (arch) => (values.recipe ?? 'lm-stability-{arch}').replace('{arch}', arch);
const fixed = [...values.set.map((kv) => (kv.startsWith('--') ? kv : `--${kv}`))];
if (steps !== null) {
  const every = Math.max(1, Math.floor(steps / 4));
  fixed.push(`--train.steps=${steps}`, `--train.warmup=${Math.max(1, Math.round(steps / 20))}`, `--eval.every=${every}`, `--checkpoint.every=${every}`);
}
const quote = (a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
const rest = process.argv.slice(2).filter((a) => a !== '--report-only' && a !== '--dry-run');
const command = `npm run repro:lm-stability${rest.length ? ` -- ${rest.map(quote).join(' ')}` : ''}`;

/** Runs `lrnn ...args` with inherited output; resolves to its exit code. The first SIGINT/SIGTERM is left to it. */
function lrnn(args) {
  console.error(`$ lrnn ${args.join(' ')}`);
  if (values['dry-run']) return Promise.resolve(0);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [lrnnBin, ...args], { cwd: root, stdio: 'inherit' });
    // A terminal's Ctrl-C reaches the child (same process group) by itself; a SIGTERM sent to this script
    // alone is passed on. Either way we wait for the child, then still write the report.
    const onInt = () => {};
    const onTerm = () => child.kill('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    child.on('close', (code, sig) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(code ?? (sig === 'SIGINT' ? 130 : 143));
    });
  });
}

// 1. The data the recipes read (the same for every arch), prepared once.
const dataDirs = new Set(archs.map((a) => {
  const set = fixed.map((kv) => /^--data\.dir=(.*)$/.exec(kv)?.[1]).find(Boolean);
  if (set) return set;
  const file = [path.join(root, 'recipes', `${recipeOf(a)}.toml`), path.resolve(root, recipeOf(a))].find(existsSync);
  return (file && /^\s*dir\s*=\s*"([^"]+)"/m.exec(readFileSync(file, 'utf8'))?.[1]) || 'data/lrnn-mix';
}));
let code = 0;
if (!values['report-only']) {
  for (const d of dataDirs) {
    if (!existsSync(path.resolve(root, d, 'manifest.json'))) {
      if (path.resolve(root, d) !== path.resolve(root, 'data/lrnn-mix')) fail(`data.dir '${d}' has no prepared dataset: run 'lrnn prepare --out ${d}' first`);
      code = await lrnn(['prepare', '--out', d]);
      if (code !== 0) fail(`'lrnn prepare --out ${d}' exited with ${code}`);
    }
  }
  // 2. One sweep per architecture; a signal stops the sweeps (the report is still written).
  for (const arch of archs) {
    const args = ['sweep', recipeOf(arch), `--model.arch=${arch}`, ...fixed, '--grid', `train.lr=${lrs.join(',')}`, '--grid', 'model.allow_neg_eigval=false,true',
      ...(values.seeds ? ['--seeds', values.seeds] : []), '--jobs', values.jobs, ...(values.procs ? ['--procs', values.procs] : []), '--out', path.join(sweepsDir, arch)];
    code = await lrnn(args);
    if (code === 2) fail(`'lrnn ${args.join(' ')}' refused its input (exit 2)`);
    if (code === 130 || code === 143) break;
  }
}
if (values['dry-run']) process.exit(0);

// 3. The stability maps, figures, report and twin, from whatever has finished.
const { writeStabilityMap } = await import('../src/eval/stability_map.ts');
const { stabilityJson, stabilityReport } = await import('../src/eval/stability_report.ts');
const seeds = values.seeds ? values.seeds.split(',').map(Number) : [null];
const sweeps = [];
for (const arch of archs) {
  const dir = path.resolve(root, sweepsDir, arch);
  const out = path.join(figRoot, arch);
  let map = null, figures = [];
  if (existsSync(path.join(dir, 'sweep.json'))) {
    // The map names its sweep and runs by the path it is given: relative to the checkout, so the committed
    // report never carries this machine's absolute paths.
    process.chdir(root);
    const res = writeStabilityMap(show(dir), out);
    map = { ...res.map, sweep: show(dir) };
    figures = res.files.filter((f) => f.endsWith('.svg')).map((f) => path.relative(reportDir, f).split(path.sep).join('/'));
  }
  sweeps.push({
    arch, label: LABELS[arch], sweepDir: show(dir), recipe: `recipes/${recipeOf(arch)}.toml`, map, figures,
    planned: lrs.flatMap((lr) => [false, true].flatMap((neg) => seeds.map((seed) => ({ lr: Number(lr), allow_neg_eigval: neg, seed })))),
  });
}
const params = sweeps.flatMap((s) => { const n = s.map?.runs.find((r) => r.params)?.params; return n ? [`${s.label} ${n.toLocaleString('en-US')}`] : []; }).join(', ');
const tokens = sweeps.flatMap((s) => s.map?.runs ?? []).filter((r) => r.finished).map((r) => r.tokens_seen);
const setup = [
  `recipes: ${sweeps.map((s) => s.recipe).join(', ')}${params ? ` (parameters: ${params})` : ''}; grid: train.lr = ${lrs.join(', ')} × model.allow_neg_eigval = false, true${values.seeds ? ` × seeds ${values.seeds}` : ''}`,
  ...(fixed.length ? [`overrides of every run: ${fixed.map((kv) => `\`${kv}\``).join(' ')}${steps !== null ? ` (shortened with --steps ${steps}: a trial, not the report's scale)` : ''}`] : []),
  `tokens per finished run: ${!tokens.length ? 'none finished yet' : [...new Set([Math.min(...tokens), Math.max(...tokens)])].map((t) => t.toLocaleString('en-US')).join('–')}`,
  `machine of this invocation: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; ${values['report-only'] ? 'report only (nothing trained by it)' : `sweeps run with --jobs ${values.jobs}${values.procs ? ` --procs ${values.procs}` : ''}`}`,
];
const meta = { setup, generated: new Date().toISOString(), command };
mkdirSync(reportDir, { recursive: true });
writeFileSync(reportFile, stabilityReport(sweeps, meta));
const json = stabilityJson(sweeps, meta);
writeFileSync(reportFile.replace(/\.md$/, '.json'), JSON.stringify(json, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
console.error(`wrote ${show(reportFile)} and ${show(reportFile.replace(/\.md$/, '.json'))}: ${json.finished} of ${json.expected} runs finished, ${json.missing} missing`);
process.exit(code);
