// The MPI world of this process, through the native addon (src/native/mpi.cc). Without an MPI launcher
// (mpirun, srun, mpiexec) or without an MPI build of the addon the world is a single rank and every
// collective is a no-op, so single-process training needs nothing from MPI.
import { native } from '../backend/index.ts';

export interface World {
  rank: number;
  size: number;
  /** 'mpi' when launched under MPI, 'single' otherwise. */
  kind: 'mpi' | 'single';
  library?: string;
  threadLevel?: string;
  /** In-place sum over ranks, blocking the JS thread. */
  allreduceSum(buf: Float32Array): void;
  /** In-place sum on the communication thread; calls complete in the order they were issued. */
  allreduceSumAsync(buf: Float32Array): Promise<void>;
  /** In-place broadcast from `root`. */
  bcast(buf: Float32Array, root?: number): void;
  barrier(): void;
  /** Re-arms the step watchdog: if the next kick (or stop) does not come within timeoutMs, the job aborts
   * with a message naming this rank and step. timeoutMs ≤ 0 stops it. */
  watchdog(step: number, timeoutMs: number): void;
  /** Ends the whole job (every rank) with `code`. */
  abort(code: number): never;
  finalize(): void;
}

interface MpiAddon {
  mpiInit(): { rank: number; size: number; threadLevel: string; library: string };
  mpiAllreduceSum(b: Float32Array): void;
  mpiAllreduceSumAsync(b: Float32Array): Promise<void>;
  mpiBcast(b: Float32Array, root: number): void;
  mpiBarrier(): void;
  mpiWatchdogKick(step: number, timeoutMs: number): void;
  mpiFinalize(): void;
  mpiAbort(code: number): void;
}

/** True when an MPI launcher started this process (Open MPI, MPICH/Hydra, PMIx, or Slurm's srun with PMI). */
export function launchedByMpi(env: NodeJS.ProcessEnv = process.env): boolean {
  return ['OMPI_COMM_WORLD_SIZE', 'PMI_SIZE', 'PMIX_RANK', 'MPI_LOCALNRANKS'].some((k) => env[k] !== undefined);
}

/** True when the addon was built with MPI. */
export function mpiAvailable(): boolean {
  return !!native()?.withMpi;
}

let world: World | undefined;

const single: World = {
  rank: 0,
  size: 1,
  kind: 'single',
  allreduceSum: () => {},
  allreduceSumAsync: async () => {},
  bcast: () => {},
  barrier: () => {},
  watchdog: () => {},
  abort: (code) => process.exit(code),
  finalize: () => {},
};

/**
 * This process's world, initialised once. Under an MPI launcher it initialises MPI (thread level MULTIPLE)
 * and registers MPI_Finalize at exit (a rank that exits without it is reported as failed by mpirun).
 */
export function getWorld(): World {
  if (world) return world;
  if (!launchedByMpi()) return (world = single);
  const addon = native() as unknown as MpiAddon | null;
  if (!addon || !mpiAvailable()) {
    throw new Error('this process was started by an MPI launcher, but the lrnn addon was built without MPI ' +
      '(apt-get install -y libopenmpi-dev openmpi-bin, then npm run build:native)');
  }
  const info = addon.mpiInit();
  let finalized = false;
  const finalize = () => {
    if (finalized) return;
    finalized = true;
    addon.mpiFinalize();
  };
  process.on('exit', finalize);
  world = {
    rank: info.rank,
    size: info.size,
    kind: 'mpi',
    library: info.library.split('\n')[0]!.trim(),
    threadLevel: info.threadLevel,
    allreduceSum: (b) => addon.mpiAllreduceSum(b),
    allreduceSumAsync: (b) => addon.mpiAllreduceSumAsync(b),
    bcast: (b, root = 0) => addon.mpiBcast(b, root),
    barrier: () => addon.mpiBarrier(),
    watchdog: (step, ms) => addon.mpiWatchdogKick(step, ms),
    abort: (code) => {
      addon.mpiAbort(code);
      process.exit(code);
    },
    finalize,
  };
  return world;
}
