// How lrnn train chooses its processes: every core by default (ranks that divide the batch, else BLAS
// threads), one with --procs 1 or LRNN_PROCS=1, and refusals that name the flag or key.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planProcs, underMpi } from './spread.ts';

test('auto: ranks dividing train.batch_size up to the core count, else BLAS threads; --procs 1 pins one', () => {
  const saved = process.env.LRNN_PROCS;
  delete process.env.LRNN_PROCS;
  try {
    assert.deepEqual([planProcs(undefined, 8, 2, true).ranks, planProcs(undefined, 8, 2, true).blasThreads], [2, 1]);
    assert.equal(planProcs('auto', 8, 16, true).ranks, 8);
    assert.equal(planProcs('auto', 12, 8, true).ranks, 6);
    assert.deepEqual([planProcs('auto', 7, 2, true).ranks, planProcs('auto', 7, 2, true).blasThreads], [1, 2]);
    assert.deepEqual([planProcs('auto', 8, 4, false).ranks, planProcs('auto', 8, 4, false).blasThreads], [1, 4]);
    assert.deepEqual([planProcs('auto', 8, 1, true).ranks, planProcs('auto', 8, 1, true).blasThreads], [1, 1]);
    assert.deepEqual([planProcs('1', 8, 16, true).ranks, planProcs('1', 8, 16, true).blasThreads], [1, 1]);
    assert.equal(planProcs('4', 8, 2, true).ranks, 4);
    process.env.LRNN_PROCS = '1';
    assert.equal(planProcs(undefined, 8, 2, true).ranks, 1);
    assert.equal(planProcs('2', 8, 2, true).ranks, 2, 'the flag wins over LRNN_PROCS');
  } finally {
    if (saved === undefined) delete process.env.LRNN_PROCS;
    else process.env.LRNN_PROCS = saved;
  }
  assert.throws(() => planProcs('3', 8, 4, true), /--procs 3: train\.batch_size = 8 is not divisible by 3/);
  assert.throws(() => planProcs('2', 8, 4, false), /--procs 2: needs MPI/);
  assert.throws(() => planProcs('two', 8, 4, true), /--procs: expected a positive integer or 'auto', got 'two'/);
});

test('a rank of an mpirun or srun job is recognised, so it never launches ranks itself', () => {
  assert.equal(underMpi({}), false);
  assert.equal(underMpi({ OMPI_COMM_WORLD_SIZE: '2' }), true);
  assert.equal(underMpi({ PMI_SIZE: '4' }), true);
});
