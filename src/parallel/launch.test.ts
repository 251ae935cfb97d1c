// The mpirun command line of `lrnn launch`: node flags go between node and bin/lrnn.js, and ranks that may
// share a host get the single-threaded GC (see rankNodeFlags for the measurement).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lrnnBin, mpirunCommand } from './launch.ts';

const nodeFlags = (o: Parameters<typeof mpirunCommand>[0]) => {
  const { args } = mpirunCommand(o);
  const at = args.indexOf(process.execPath);
  return args.slice(at + 1, args.indexOf(lrnnBin()));
};

test('ranks sharing a host get --single-threaded-gc; one rank per host keeps V8 defaults', () => {
  assert.deepEqual(nodeFlags({ nproc: 2, command: ['train'] }), ['--single-threaded-gc']);
  assert.deepEqual(nodeFlags({ nproc: 1, command: ['train'] }), []);
  assert.deepEqual(nodeFlags({ nproc: 2, hosts: ['a', 'b'], command: ['train'] }), []);
  assert.deepEqual(nodeFlags({ nproc: 4, hosts: ['a', 'b'], command: ['train'] }), ['--single-threaded-gc']);
  assert.deepEqual(nodeFlags({ nproc: 2, hosts: ['a:2', 'b:2'], command: ['train'] }), ['--single-threaded-gc']);
  const { args } = mpirunCommand({ nproc: 2, command: ['train', 'default'], mpirunArgs: ['--tag-output'] });
  assert.deepEqual(args.slice(-5), [process.execPath, '--single-threaded-gc', lrnnBin(), 'train', 'default']);
  assert.ok(args.indexOf('--tag-output') < args.indexOf(process.execPath));
});
