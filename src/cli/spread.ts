// How many processes `lrnn train` runs on: by default every core, as data-parallel MPI ranks that share the
// recipe's batch (train.split_batch_over_ranks), so the run steps on the same batches and follows the same
// losses as one process, only sooner; without MPI, one process with a BLAS thread per core (only the
// matrix products then use the other cores). `--procs 1` (or LRNN_PROCS=1) pins one process, one thread.
// Measured on 2 cores: 2 ranks of the default recipe ran 1,252 tokens/s together, one rank alone ~715.
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { UsageError } from './errors.ts';

export interface ProcsPlan {
  /** MPI ranks to start (1 = run in this process). */
  ranks: number;
  /** BLAS threads of each process. */
  blasThreads: number;
  /** Why, for the log line. */
  why: string;
}

/** True inside a job started by mpirun or srun (then this process is one rank and never re-launches). */
export function underMpi(env: NodeJS.ProcessEnv = process.env): boolean {
  return ['OMPI_COMM_WORLD_SIZE', 'PMIX_RANK', 'PMI_SIZE', 'SLURM_NTASKS'].some((k) => env[k] !== undefined);
}

/** Whether mpirun can be started here (the addon's MPI support is checked by the caller). */
export function mpirunWorks(): boolean {
  return spawnSync('mpirun', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * `--procs` (N, 'auto'; default LRNN_PROCS, else auto) for a recipe with `batch` sequences per step on a
 * machine with `cores` cores. `mpi` says whether ranks can be started.
 */
export function planProcs(flag: string | undefined, batch: number, cores: number, mpi: boolean): ProcsPlan {
  const v = (flag ?? process.env.LRNN_PROCS ?? 'auto').trim();
  if (v === 'auto') {
    if (cores <= 1) return { ranks: 1, blasThreads: 1, why: 'one core' };
    if (!mpi) return { ranks: 1, blasThreads: cores, why: `no MPI (addon or mpirun): one process, ${cores} BLAS threads` };
    let ranks = 1;
    for (let n = Math.min(cores, batch); n >= 1; --n) if (batch % n === 0) { ranks = n; break; }
    return ranks > 1
      ? { ranks, blasThreads: 1, why: `${ranks} ranks on ${cores} cores, ${batch / ranks} of train.batch_size = ${batch} sequences each` }
      : { ranks: 1, blasThreads: cores, why: `train.batch_size = ${batch} does not split over ranks: one process, ${cores} BLAS threads` };
  }
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--procs: expected a positive integer or 'auto', got '${v}'`);
  if (n === 1) return { ranks: 1, blasThreads: 1, why: 'pinned to one process (--procs 1)' };
  if (!mpi) throw new UsageError(`--procs ${n}: needs MPI (an addon built with it and mpirun: apt-get install -y libopenmpi-dev openmpi-bin, then npm run build:native)`);
  if (batch % n !== 0) throw new UsageError(`--procs ${n}: train.batch_size = ${batch} is not divisible by ${n} (the ranks share the batch)`);
  return { ranks: n, blasThreads: 1, why: `${n} ranks (--procs), ${batch / n} of train.batch_size = ${batch} sequences each` };
}

/** The machine's core count as Node sees it (cgroup limits included). */
export function coreCount(): number {
  return os.availableParallelism();
}
