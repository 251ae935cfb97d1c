// `lrnn sweep` as a user runs it, on the tiny recipe and a generated two-domain dataset: bad grids refused
// before anything runs (exit 2, naming the key, nothing written); runs as child `lrnn train`s into ordinary
// run folders with a sweep.json index; a second invocation reuses finished runs, resumes a crashed one from
// its checkpoint (to the same losses as the uninterrupted run) and reruns one whose recipe changed; SIGTERM
// reaches the running child (checkpoint, status interrupted, exit 143, no new run starts) and the same
// command then continues.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import { prepareTinyDataset } from '../data/fixtures/tiny_corpus.ts';
import { readMetrics, type StepRecord } from '../log/metrics.ts';
import { runCli } from '../testing/cli.ts';
import type { SweepIndex } from '../eval/sweep_index.ts';

const BIN = path.resolve('bin/lrnn.js');
const sweep = (args: string[]) => spawnSync(process.execPath, [BIN, 'sweep', ...args], { encoding: 'utf8' });

let ds = '';
before(async () => {
  ds = await prepareTinyDataset(mkdtempSync(path.join(tmpdir(), 'lrnn-sweep-ds-')));
});

const common = (steps = 6) => [`--data.dir=${ds}`, '--data.domains=["prose","more"]', '--data.weights=[1,1]', '--eval.splits=["prose","more"]',
  '--eval.batches=1', '--data.seq_len=16', '--train.warmup=1', '--checkpoint.every=3', `--train.steps=${steps}`];
const index = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'sweep.json'), 'utf8')) as SweepIndex;
const entry = (dir: string, name: string) => index(dir).runs.find((r) => r.name === name)!;
/** The deterministic part of a run's step records. */
const stepsOf = (runDir: string) => readMetrics(path.join(runDir, 'metrics.jsonl')).filter((r): r is StepRecord => r.kind === 'step')
  .map((r) => [r.step, r.tokens_seen, r.loss, r.grad_norm, r.lr]);

test('bad grids are refused before anything runs, naming the key (exit 2, nothing written)', async () => {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'lrnn-sweep-bad-')), 'sw');
  const cases: [string[], RegExp][] = [
    [['--grid', 'train.lrr=1e-3,3e-3'], /--grid train\.lrr: unknown key 'train\.lrr'/],
    [['--grid', 'train.lr=1e-3,fast'], /--grid train\.lr: value 'fast': expected number, received string/],
    [['--grid', 'model.allow_neg_eigval=false,maybe'], /--grid model\.allow_neg_eigval: value 'maybe': expected boolean/],
    [['--grid', 'train.lr='], /--grid train\.lr: empty list of values/],
    [['--grid', 'train.lr=1e-3', '--grid', 'train.lr=3e-3'], /--grid train\.lr: given twice/],
    [['--seeds', '0,-1'], /--seeds: '-1' is not a non-negative integer/],
    [[], /nothing to sweep/],
    [['--grid', 'train.lr=1e-3', '--jobs', '0'], /--jobs: expected an integer ≥ 1/],
    [['--grid', 'train.lr=1e-3', '--procs', 'many'], /--procs: expected an integer ≥ 1, got 'many'/],
    [['--grid', 'train.lr=1e-3', '--data.dir=/nonexistent-lrnn-data'], /data\.dir: '\/nonexistent-lrnn-data' has no manifest\.json/],
  ];
  for (const [args, re] of cases) {
    const r = await runCli('sweep', 'tiny', ...common(), ...args, '--out', out);
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}\n${r.err}`);
    assert.match(r.err, re, args.join(' '));
    assert.equal(existsSync(out), false, `${args.join(' ')} wrote ${out}`);
  }
  const dry = await runCli('sweep', 'tiny', ...common(), '--grid', 'train.lr=1e-3,3e-2', '--seeds', '0,1', '--jobs', '2', '--out', out, '--dry-run');
  assert.equal(dry.code, 0, dry.err);
  assert.match(dry.out, /lr-0\.03_seed-1\s+start\s+new/);
  const cmds = dry.out.split('\n').filter((l) => l.startsWith('lrnn train '));
  assert.equal(cmds.length, 4);
  // Two runs at a time: each pinned to one process unless --procs says otherwise.
  for (const c of cmds) assert.match(c, / --train\.lr=(1e-3|3e-2) --train\.seed=[01] --out_dir=\S+ --name=lr-\S+ --no-prepare --procs 1 --json$/);
  assert.equal(existsSync(out), false, '--dry-run wrote the sweep folder');
});

test('runs, index, reuse of finished runs, resume of a crashed run, rerun of a changed one', () => {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'lrnn-sweep-')), 'sw');
  const args = ['tiny', ...common(), '--grid', 'train.lr=1e-3,3e-2', '--jobs', '2', '--out', out];
  const first = sweep(args);
  assert.equal(first.status, 0, first.stderr);
  const a = path.join(out, 'lr-0.001'), b = path.join(out, 'lr-0.03');
  const idx = index(out);
  assert.deepEqual(idx.grid, [{ key: 'train.lr', values: ['1e-3', '3e-2'] }]);
  assert.deepEqual(idx.runs.map((r) => [r.name, r.overrides, r.args, r.action, r.status, r.step, r.exit_code]), [
    ['lr-0.001', { 'train.lr': 0.001 }, ['--train.lr=1e-3'], 'start', 'completed', 6, 0],
    ['lr-0.03', { 'train.lr': 0.03 }, ['--train.lr=3e-2'], 'start', 'completed', 6, 0],
  ]);
  // Ordinary run folders, with the grid value applied.
  assert.match(readFileSync(path.join(b, 'config.resolved.toml'), 'utf8'), /^lr = 0\.03$/m);
  assert.ok(existsSync(path.join(a, 'checkpoint-6', 'model.safetensors')));
  assert.match(readFileSync(path.join(out, 'logs', 'lr-0.03.log'), 'utf8'), /completed/);
  const stepsA = stepsOf(a), stepsB = stepsOf(b);
  assert.equal(stepsA.length, 6);
  assert.notDeepEqual(stepsA.map((s) => s[2]), stepsB.map((s) => s[2]), 'the two learning rates trained the same');

  // Again: both finished runs are reused, nothing is trained.
  const mtime = statSync(path.join(a, 'metrics.jsonl')).mtimeMs;
  const again = sweep(args);
  assert.equal(again.status, 0, again.stderr);
  assert.deepEqual(index(out).runs.map((r) => [r.action, r.status]), [['reuse', 'completed'], ['reuse', 'completed']]);
  assert.equal(statSync(path.join(a, 'metrics.jsonl')).mtimeMs, mtime);

  // b crashes after step 5 (its last checkpoint is step 3); a's recipe was different (clip 0.5).
  rmSync(path.join(b, 'checkpoint-6'), { recursive: true });
  const kept = readFileSync(path.join(b, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l && JSON.parse(l).kind === 'step' && JSON.parse(l).step <= 5);
  writeFileSync(path.join(b, 'metrics.jsonl'), kept.join('\n') + '\n');
  const cfgA = path.join(a, 'config.resolved.toml');
  writeFileSync(cfgA, readFileSync(cfgA, 'utf8').replace(/^clip = 1$/m, 'clip = 0.5'));
  const third = sweep(args);
  assert.equal(third.status, 0, third.stderr);
  assert.match(third.stderr, /lr-0\.03\s+resume\s+ended without a done record \(killed or crashed\); from checkpoint-3/);
  assert.match(third.stderr, /lr-0\.001\s+rerun\s+recipe changed: train\.clip: 0\.5 → 1/);
  assert.deepEqual(index(out).runs.map((r) => [r.name, r.action, r.status, r.step]), [['lr-0.001', 'rerun', 'completed', 6], ['lr-0.03', 'resume', 'completed', 6]]);
  assert.deepEqual(stepsOf(b), stepsB, 'the resumed run differs from the uninterrupted one');
  assert.deepEqual(stepsOf(a), stepsA, 'the rerun differs from the first run of the same recipe');
  assert.match(readFileSync(path.join(out, 'superseded', 'lr-0.001', 'config.resolved.toml'), 'utf8'), /^clip = 0\.5$/m);
});

test('SIGTERM reaches the running child: checkpoint, status interrupted, exit 143, no new run; the same command continues', async () => {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'lrnn-sweep-sig-')), 'sw');
  const args = [BIN, 'sweep', 'tiny', ...common(80), '--checkpoint.every=0', '--grid', 'train.lr=1e-3,2e-3', '--jobs', '1', '--out', out];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const metrics = path.join(out, 'lr-0.001', 'metrics.jsonl');
  const t0 = Date.now();
  while (!(existsSync(metrics) && readFileSync(metrics, 'utf8').includes('"kind":"step"'))) {
    assert.ok(Date.now() - t0 < 60_000, `no step after 60 s:\n${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  assert.equal(code, 143, err);
  assert.match(err, /SIGTERM: passing it to 1 running run/);
  const first = entry(out, 'lr-0.001');
  assert.equal(first.status, 'interrupted');
  assert.equal(first.exit_code, 143);
  assert.ok(first.step! < 80, `the run finished before the signal (step ${first.step})`);
  assert.ok(existsSync(path.join(out, 'lr-0.001', `checkpoint-${first.step}`)), 'no checkpoint at the interrupted step');
  assert.equal(entry(out, 'lr-0.002').status, 'pending');
  assert.equal(existsSync(path.join(out, 'lr-0.002')), false, 'a new run started after the signal');
  assert.equal(existsSync(path.join(out, '.sweep.lock')), false);

  const again = spawnSync(process.execPath, args, { encoding: 'utf8' });
  assert.equal(again.status, 0, again.stderr);
  assert.deepEqual(index(out).runs.map((r) => [r.action, r.status, r.step]), [['resume', 'completed', 80], ['start', 'completed', 80]]);
  assert.deepEqual(stepsOf(path.join(out, 'lr-0.001')).map((s) => s[0]), Array.from({ length: 80 }, (_, i) => i + 1));
});
