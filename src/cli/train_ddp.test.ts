// Data-parallel `lrnn train` under mpirun: 2 ranks × batch 2 follow the single-process run with batch 4 on
// the same global batches (same losses and gradient norms up to float32 summation order); rank 0 alone
// writes the run folder. Needs Open MPI and an addon built with it; skipped with the reason otherwise.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { prepareTinyDataset } from '../data/fixtures/tiny_corpus.ts';
import { readMetrics, type StepRecord } from '../log/metrics.ts';
import { mpirunCommand } from '../parallel/launch.ts';
import { mpiAvailable } from '../parallel/mpi.ts';

const hasMpirun = spawnSync('mpirun', ['--version']).status === 0;
const skip = !hasMpirun ? 'mpirun not installed' : !mpiAvailable() ? 'addon built without MPI' : false;

test('2 ranks x batch 2 == 1 process x batch 4', { skip }, async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'lrnn-ddp-'));
  const ds = await prepareTinyDataset(root);
  const common = ['tiny', `--out_dir=${root}`, `--data.dir=${ds}`, '--data.domains=["prose","more"]', '--data.weights=[1,1]', '--eval.splits=["prose"]',
    '--eval.batches=1', '--data.seq_len=16', '--train.steps=4', '--train.warmup=1', '--log.progress=false'];
  const { cmd, args, env } = mpirunCommand({ nproc: 2, command: ['train', ...common, '--name=ddp', '--train.batch_size=2'] });
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const s = spawnSync(process.execPath, ['bin/lrnn.js', 'train', ...common, '--name=single', '--train.batch_size=4'], { encoding: 'utf8' });
  assert.equal(s.status, 0, s.stderr);
  const steps = (name: string) => readMetrics(path.join(root, name, 'metrics.jsonl')).filter((x): x is StepRecord => x.kind === 'step');
  const a = steps('ddp'), b = steps('single');
  assert.equal(a.length, 4);
  a.forEach((x, i) => {
    const y = b[i]!;
    assert.equal(x.tokens_seen, y.tokens_seen);
    assert.ok(Math.abs(x.loss! - y.loss!) <= 1e-5 * y.loss!, `step ${x.step}: loss ${x.loss} vs ${y.loss}`);
    assert.ok(Math.abs(x.grad_norm! - y.grad_norm!) <= 1e-4 * y.grad_norm!, `step ${x.step}: grad norm ${x.grad_norm} vs ${y.grad_norm}`);
  });
  assert.deepEqual(readdirSync(path.join(root, 'ddp')).sort(), ['checkpoint-4', 'config.resolved.toml', 'eval', 'metrics.jsonl', 'train.log']);

  // A checkpoint resumes on any world size: the 2-rank run's checkpoint continued by one process (batch 4)
  // follows the single-process run continued the same way.
  const more = ['--train.steps=6', '--train.batch_size=4'];
  for (const name of ['ddp', 'single']) {
    const c = spawnSync(process.execPath, ['bin/lrnn.js', 'train', '--resume', path.join(root, name), ...more], { encoding: 'utf8' });
    assert.equal(c.status, 0, `${name}: ${c.stderr}`);
  }
  const a2 = steps('ddp'), b2 = steps('single');
  assert.equal(a2.length, 6);
  for (const i of [4, 5]) {
    assert.equal(a2[i]!.tokens_seen, b2[i]!.tokens_seen);
    assert.ok(Math.abs(a2[i]!.loss! - b2[i]!.loss!) <= 1e-4 * b2[i]!.loss!, `resumed step ${i + 1}: ${a2[i]!.loss} vs ${b2[i]!.loss}`);
  }
});

test('lrnn train on every core: --procs 2 ranks share the batch and follow --procs 1; the run resumes on one process', { skip }, async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'lrnn-procs-'));
  const ds = await prepareTinyDataset(root);
  const common = ['train', 'tiny', `--out_dir=${root}`, `--data.dir=${ds}`, '--data.domains=["prose","more"]', '--data.weights=[1,1]', '--eval.splits=["prose"]',
    '--eval.batches=1', '--data.seq_len=16', '--train.steps=4', '--train.warmup=1', '--train.schedule=constant', '--log.progress=false', '--eval.final_tokens=0'];
  const run = (args: string[]) => spawnSync(process.execPath, ['bin/lrnn.js', ...args], { encoding: 'utf8', timeout: 120_000 });
  const two = run([...common, '--name=two', '--procs=2']);
  assert.equal(two.status, 0, two.stderr);
  assert.match(two.stderr, /2 ranks \(--procs\), 2 of train\.batch_size = 4 sequences each/);
  assert.equal(run([...common, '--name=one', '--procs=1']).status, 0);
  const steps = (name: string) => readMetrics(path.join(root, name, 'metrics.jsonl')).filter((x): x is StepRecord => x.kind === 'step');
  const near = (a: StepRecord[], b: StepRecord[], tol: number) => {
    assert.equal(a.length, b.length);
    a.forEach((x, i) => {
      assert.equal(x.tokens_seen, b[i]!.tokens_seen);
      assert.ok(Math.abs(x.loss! - b[i]!.loss!) <= tol * b[i]!.loss!, `step ${x.step}: loss ${x.loss} vs ${b[i]!.loss}`);
    });
  };
  near(steps('two'), steps('one'), 1e-5);
  assert.match(readFileSync(path.join(root, 'two', 'config.resolved.toml'), 'utf8'), /split_batch_over_ranks = true/);
  // The recorded batch is the recipe's: the 2-rank run continued in one process takes the same batches.
  for (const name of ['two', 'one']) assert.equal(run(['train', '--resume', path.join(root, name), '--train.steps=6', '--procs=1']).status, 0, name);
  near(steps('two'), steps('one'), 1e-4);
  const bad = run([...common, '--name=bad', '--procs=3']);
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /--procs 3: train\.batch_size = 4 is not divisible by 3/);
});

test('a rank that hangs in training: the step watchdog aborts the job, naming the rank and the step', { skip }, async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'lrnn-ddp-hang-'));
  const ds = await prepareTinyDataset(root);
  const args = ['tiny', `--out_dir=${root}`, `--data.dir=${ds}`, '--data.domains=["prose","more"]', '--data.weights=[1,1]', '--eval.splits=["prose"]',
    '--eval.batches=1', '--data.seq_len=16', '--train.steps=50', '--train.warmup=1', '--log.progress=false', '--name=hang', '--train.batch_size=2'];
  const { cmd, args: mpiArgs, env } = mpirunCommand({ nproc: 2, command: ['train', ...args] });
  const t0 = Date.now();
  const r = spawnSync(cmd, mpiArgs, { encoding: 'utf8', env: { ...process.env, ...env, LRNN_STEP_TIMEOUT_S: '4', LRNN_TEST_HANG_AT: '1:3' }, timeout: 90_000 });
  assert.notEqual(r.status, 0);
  assert.ok(Date.now() - t0 < 60_000, `took ${Date.now() - t0} ms`);
  assert.match(r.stderr, /rank \d: step 4 made no progress for 4\.0 s/);
});
