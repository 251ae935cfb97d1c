// lrnn launch --dry-run prints the mpirun command exactly as it would run it: the ranks' colour setting
// (NO_COLOR or FORCE_COLOR, exported with -x) included, so the printed line can be pasted.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { mpiAvailable } from '../parallel/mpi.ts';

const BIN = path.resolve('bin/lrnn.js');
const skip = mpiAvailable() ? false : 'the addon was built without MPI';

test('lrnn launch --dry-run prints the colour variable it exports to the ranks', { skip }, () => {
  const printed = (env: Record<string, string>) => {
    const base = { ...process.env };
    delete base.NO_COLOR;
    delete base.FORCE_COLOR;
    // stdout is a pipe here, so the ranks are told NO_COLOR unless FORCE_COLOR asks for colour.
    const r = spawnSync(process.execPath, [BIN, 'launch', '--nproc', '2', '--dry-run', 'train', 'tiny'], { env: { ...base, ...env }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const line = r.stderr.split('\n').find((l) => l.startsWith('lrnn launch: '));
    assert.ok(line, r.stderr);
    return line;
  };
  const plain = printed({});
  assert.match(plain, /\bNO_COLOR=1 .*mpirun -x NO_COLOR -np 2 /);
  assert.doesNotMatch(plain, /FORCE_COLOR/);
  const forced = printed({ FORCE_COLOR: '1' });
  assert.match(forced, /\bFORCE_COLOR=1 .*mpirun -x FORCE_COLOR -np 2 /);
  assert.doesNotMatch(forced, /NO_COLOR/);
});
