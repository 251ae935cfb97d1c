// Stopping when asked, on real child processes: SIGINT at a random step of `lrnn train` stops after that
// step with a checkpoint of it, status "interrupted" and exit 130, and --resume then writes exactly the
// unbroken run's losses; SIGTERM exits 143; a second signal quits at once; lrnn task train saves the model
// so far; SIGTERM to `lrnn launch` stops both MPI ranks at the same step and leaves no process of the job
// behind.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import { prepareTinyDataset } from '../data/fixtures/tiny_corpus.ts';
import { readMetrics, type StepRecord } from '../log/metrics.ts';
import { mpiAvailable } from '../parallel/mpi.ts';

const BIN = path.resolve('bin/lrnn.js');
let ds: string;
before(async () => {
  ds = await prepareTinyDataset(mkdtempSync(path.join(tmpdir(), 'lrnn-sig-ds-')));
});
const common = () => [`--data.dir=${ds}`, '--data.domains=["prose","more"]', '--data.weights=[1,1]', '--eval.splits=["prose"]', '--eval.batches=1',
  '--data.seq_len=16', '--log.progress=false', '--checkpoint.every=0'];
const STEPS = 150;

const stepsOf = (runDir: string) => readMetrics(path.join(runDir, 'metrics.jsonl')).filter((r): r is StepRecord => r.kind === 'step');
const countSteps = (file: string) => (existsSync(file) ? (readFileSync(file, 'utf8').match(/"kind":"step"/g) ?? []).length : 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const exited = (c: ChildProcess) => new Promise<{ code: number | null; signal: string | null }>((r) => c.on('exit', (code, signal) => r({ code, signal })));

/** Starts `lrnn …`, waits until metrics.jsonl of runDir has `atStep` steps, sends `sig`; returns the exit and stderr. */
async function signalAt(args: string[], runDir: string, atStep: number, sig: NodeJS.Signals, env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => { err += d; });
  child.stdout!.on('data', () => {});
  const done = exited(child);
  const file = path.join(runDir, 'metrics.jsonl');
  let finished = false;
  void done.then(() => { finished = true; });
  while (!finished && countSteps(file) < atStep) await sleep(5);
  assert.ok(!finished, `the run ended before step ${atStep}: ${err}`);
  child.kill(sig);
  return { ...(await done), stderr: err, pid: child.pid! };
}

test('SIGINT at a random step: checkpoint of that step, status interrupted, exit 130; resume == unbroken run', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'lrnn-sig-'));
  const base = ['train', 'tiny', `--out_dir=${out}`, `--train.steps=${STEPS}`, ...common()];
  const full = spawnSync(process.execPath, [BIN, ...base, '--name=full'], { encoding: 'utf8' });
  assert.equal(full.status, 0, full.stderr);

  const at = 2 + Math.floor(Math.random() * 40);
  const runDir = path.join(out, 'cut');
  const r = await signalAt([...base, '--name=cut'], runDir, at, 'SIGINT');
  assert.equal(r.code, 130, `SIGINT at step ≥ ${at}: exit ${r.code} ${r.signal}\n${r.stderr}`);
  const steps = stepsOf(runDir);
  const stopped = steps.at(-1)!.step;
  assert.ok(stopped >= at && stopped < STEPS, `stopped at ${stopped}, signalled at ${at}`);
  const ck = path.join(runDir, `checkpoint-${stopped}`);
  assert.equal(JSON.parse(readFileSync(path.join(ck, 'trainer_state.json'), 'utf8')).step, stopped);
  const done = readMetrics(path.join(runDir, 'metrics.jsonl')).at(-1)!;
  assert.equal(done.kind, 'done');
  assert.equal((done as { status: string }).status, 'interrupted');
  const logDone = readFileSync(path.join(runDir, 'train.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.msg === 'done').at(-1);
  assert.equal(logDone.status, 'interrupted');

  const res = spawnSync(process.execPath, [BIN, 'train', '--resume', runDir], { encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  const a = stepsOf(runDir), b = stepsOf(path.join(out, 'full'));
  assert.equal(a.length, STEPS);
  a.forEach((x, i) => {
    assert.equal(x.loss, b[i]!.loss, `step ${x.step}: loss ${x.loss} vs unbroken ${b[i]!.loss} (stopped at ${stopped})`);
    assert.equal(x.grad_norm, b[i]!.grad_norm, `step ${x.step}: grad norm`);
  });
});

test('SIGTERM during lrnn train: exit 143 with a checkpoint of the last step', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'lrnn-sigterm-'));
  const runDir = path.join(out, 'tiny');
  const r = await signalAt(['train', 'tiny', `--out_dir=${out}`, `--train.steps=${STEPS}`, ...common()], runDir, 3, 'SIGTERM');
  assert.equal(r.code, 143, r.stderr);
  assert.ok(existsSync(path.join(runDir, `checkpoint-${stepsOf(runDir).at(-1)!.step}`, 'model.safetensors')));
});

test('a second signal quits at once, whatever the work is doing', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lrnn-sig2-'));
  const script = path.join(dir, 'busy.ts');
  // A command whose "step" never ends: only the second signal can stop it.
  writeFileSync(script, `import { onStopSignals } from ${JSON.stringify(path.resolve('src/cli/signals.ts'))};\nonStopSignals('busy');\nsetInterval(() => {}, 1000);\nprocess.stdout.write('ready\\n');\n`);
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    const done = exited(child);
    let err = '';
    child.stderr!.on('data', (d) => { err += d; });
    await new Promise<void>((r) => child.stdout!.on('data', (d) => { if (String(d).includes('ready')) r(); }));
    child.kill(sig);
    while (!err.includes('stopping')) await sleep(5);
    const t0 = Date.now();
    child.kill(sig);
    const e = await done;
    assert.equal(e.code, code, err);
    assert.ok(Date.now() - t0 < 5000);
    assert.match(err, new RegExp(`${sig} again: quitting now`));
  }
});

const hasMpirun = spawnSync('mpirun', ['--version']).status === 0;
const skip = !hasMpirun ? 'mpirun not installed' : !mpiAvailable() ? 'addon built without MPI' : false;

/** Every descendant pid of `pid` (ps --ppid, recursively). */
function descendants(pid: number): number[] {
  const kids = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).stdout.split('\n').map((s) => Number(s.trim())).filter((n) => n > 0);
  return kids.flatMap((k) => [k, ...descendants(k)]);
}
const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

test('SIGTERM to lrnn launch: both ranks stop at the same step, a checkpoint, exit 143, no process left after 10 s', { skip }, async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'lrnn-sig-mpi-'));
  const runDir = path.join(out, 'tiny');
  // Output to a file: mpirun (Open MPI 4.1) neither passes signals on nor exits when its stdout is a socket,
  // which is what a Node parent's 'pipe' gives it.
  const logFile = path.join(out, 'launch.log');
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, [BIN, 'launch', '--nproc', '2', 'train', 'tiny', `--out_dir=${out}`, '--train.steps=100000', '--train.batch_size=2', ...common()],
    { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let err = '';
  const done = exited(child);
  const t0 = Date.now();
  while (countSteps(path.join(runDir, 'metrics.jsonl')) < 2) {
    assert.ok(Date.now() - t0 < 120_000, `no step after 120 s: ${readFileSync(logFile, 'utf8')}`);
    await sleep(20);
  }
  const pids = [child.pid!, ...descendants(child.pid!)];
  assert.ok(pids.length >= 4, `expected launcher, mpirun and 2 ranks, got ${pids.length}`);
  child.kill('SIGTERM');
  const e = await done;
  err = readFileSync(logFile, 'utf8');
  assert.equal(e.code, 143, err);
  const deadline = Date.now() + 10_000;
  while (pids.some(alive) && Date.now() < deadline) await sleep(100);
  assert.deepEqual(pids.filter(alive), [], `still running 10 s after SIGTERM: ${pids.filter(alive)}`);
  // Both ranks log where they stopped; the reduced flag makes it the same step, and rank 0 saved it.
  const stops = [...err.matchAll(/interrupted: checkpoint written[^\n]*"step":(\d+)/g)].map((m) => Number(m[1]));
  assert.equal(stops.length, 2, err);
  assert.equal(stops[0], stops[1]);
  assert.ok(existsSync(path.join(runDir, `checkpoint-${stops[0]}`, 'trainer_state.json')));
});

test('SIGINT during lrnn task train: the model so far is saved with status interrupted, exit 130', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'lrnn-sig-task-'));
  const runDir = path.join(out, 'p');
  const r = await signalAt(['task', 'train', 'parity-deltanet-negeig', `--out_dir=${out}`, '--name=p', '--train.steps=5000', '--train.batch_size=8',
    '--model.hidden_size=32', '--task.test_examples=16'], runDir, 3, 'SIGINT');
  assert.equal(r.code, 130, r.stderr);
  const steps = readMetrics(path.join(runDir, 'metrics.jsonl')).filter((x) => x.kind === 'step').length;
  const info = JSON.parse(readFileSync(path.join(runDir, 'final', 'task.json'), 'utf8'));
  assert.ok(info.steps >= 3 && info.steps === steps && info.steps < 5000, `task.json steps ${info.steps}, metrics ${steps}`);
  const done = readMetrics(path.join(runDir, 'metrics.jsonl')).at(-1) as { kind: string; status?: string };
  assert.equal(done.kind, 'done');
  assert.equal(done.status, 'interrupted');
});

test('SIGINT or SIGTERM during lrnn eval: it stops at once and writes no result (a partial number is never reported)', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lrnn-sig-eval-'));
  const run = spawnSync(process.execPath, [BIN, 'train', 'tiny', `--out_dir=${dir}`, ...common(), '--train.steps=3'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  // About a minute of scoring for the tiny model, so the signal lands while windows are being scored.
  const { makeDoc } = await import('../data/fixtures/tiny_corpus.ts');
  const { prng } = await import('../data/token_stream.ts');
  const r = prng(7);
  const docs: string[] = [];
  for (let n = 0; n < 4e6; n += docs.at(-1)!.length) docs.push(makeDoc(r, 200));
  writeFileSync(path.join(dir, 'long.txt'), docs.join('\n'));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    const out = path.join(dir, `result-${sig}.json`);
    const child = spawn(process.execPath, [BIN, 'eval', '--checkpoint', path.join(dir, 'tiny'), '--data', path.join(dir, 'long.txt'), '--out', out], { stdio: 'ignore' });
    const done = exited(child);
    await sleep(3000);
    const t0 = Date.now();
    child.kill(sig);
    const e = await done;
    // Killed by the signal itself (a shell shows 130 / 143), or an explicit exit with those codes.
    assert.ok(e.signal === sig || e.code === (sig === 'SIGINT' ? 130 : 143), `eval ended with ${JSON.stringify(e)}`);
    assert.ok(Date.now() - t0 < 3000, `eval took ${Date.now() - t0} ms to stop`);
    assert.equal(existsSync(out), false, `${out} was written`);
  }
});
