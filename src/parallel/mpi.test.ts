// MPI under mpirun: collectives give exact sums (sync, many async in flight, odd lengths), broadcast, and
// failures end the job: a killed rank within 30 s, a hung rank through the watchdog. Needs Open MPI and an
// addon built with it; skipped with the reason otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { mpiAvailable } from './mpi.ts';
import { mpirunCommand } from './launch.ts';

const hasMpirun = spawnSync('mpirun', ['--version']).status === 0;
const skip = !hasMpirun ? 'mpirun not installed (apt-get install -y openmpi-bin)' : !mpiAvailable() ? 'addon built without MPI' : false;

function mpirun(np: number, env: Record<string, string> = {}, timeoutMs = 60_000) {
  const { cmd, args, env: runEnv } = mpirunCommand({ nproc: np, command: [] });
  // Replace `node bin/lrnn.js` with the probe script.
  const nodeAt = args.indexOf(process.execPath);
  const probeArgs = [...args.slice(0, nodeAt), process.execPath, '--import', 'tsx', 'src/testing/mpi_probe.ts'];
  const t0 = Date.now();
  const r = spawnSync(cmd, probeArgs, { encoding: 'utf8', env: { ...process.env, ...runEnv, ...env }, timeout: timeoutMs });
  return { ...r, ms: Date.now() - t0 };
}

test('2 ranks: sync and 40 concurrent async all-reduces, broadcast and barrier are exact', { skip }, () => {
  const r = mpirun(2);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  for (const l of lines) {
    assert.equal(l.size, 2);
    assert.equal(l.kind, 'mpi');
    assert.equal(l.threadLevel, 'MULTIPLE');
    assert.deepEqual(l.errors, []);
  }
  assert.deepEqual(lines.map((l) => l.rank).sort(), [0, 1]);
});

/** Asserts that no rank of the probe outlived the job, and that Open MPI left no session folder in the
 * job's private TMPDIR (a private one, so MPI jobs of other test files running meanwhile do not count). */
function assertNothingLeft(tmp: string) {
  const deadline = Date.now() + 5000;
  let procs = '';
  do {
    procs = spawnSync('pgrep', ['-f', 'mpi_probe.ts'], { encoding: 'utf8' }).stdout.trim();
  } while (procs && Date.now() < deadline);
  assert.equal(procs, '', `orphaned ranks: ${procs}`);
  assert.deepEqual(readdirSync(tmp).filter((f) => f.startsWith('ompi.')), [], 'Open MPI session folder left behind');
}

test('a rank killed with SIGKILL ends the job non-zero within 30 s, naming the rank', { skip }, () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'lrnn-mpi-'));
  const r = mpirun(2, { LRNN_PROBE_DIE_RANK: '1', TMPDIR: tmp }, 45_000);
  assert.notEqual(r.status, 0);
  assert.ok(r.ms < 30_000, `took ${r.ms} ms`);
  assert.match(r.stderr + r.stdout, /rank 1/);
  assertNothingLeft(tmp);
});

test('a hung rank: the step watchdog aborts the job within its timeout, naming rank and step', { skip }, () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'lrnn-mpi-'));
  const r = mpirun(2, { LRNN_PROBE_HANG_RANK: '1', LRNN_PROBE_WATCHDOG_MS: '2000', TMPDIR: tmp }, 45_000);
  assert.notEqual(r.status, 0);
  assert.ok(r.ms < 20_000, `took ${r.ms} ms`);
  assert.match(r.stderr, /rank \d: step 1 made no progress for 2\.0 s/);
  assertNothingLeft(tmp);
});
