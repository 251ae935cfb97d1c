// Data-parallel benchmarks: MPI all-reduce algorithm bandwidth on one host (2 ranks, 64 MiB).
import { spawnSync } from 'node:child_process';
import type { Bench, BenchResult } from '../bench/harness.ts';
import { mpirunCommand } from './launch.ts';
import { mpiAvailable } from './mpi.ts';

async function allreduce(): Promise<BenchResult> {
  if (!mpiAvailable()) throw new Error('addon built without MPI');
  const bytes = 64 * 2 ** 20;
  const { cmd, args, env } = mpirunCommand({ nproc: 2, command: [] });
  const at = args.indexOf(process.execPath);
  const r = spawnSync(cmd, [...args.slice(0, at), process.execPath, '--import', 'tsx', 'src/parallel/allreduce_bench_rank.ts'], {
    encoding: 'utf8', env: { ...process.env, ...env, LRNN_BENCH_BYTES: String(bytes) },
  });
  if (r.status !== 0) throw new Error(`mpirun failed: ${r.stderr}`);
  const o = JSON.parse(r.stdout.trim().split('\n').pop()!);
  return { name: 'ddp.allreduce_gibps', value: +(bytes / o.median_s / 2 ** 30).toFixed(2), unit: 'GiB/s', bytes, ranks: 2, median_ms: +(o.median_s * 1000).toFixed(2), transport: 'Open MPI, one host' };
}

export const benches: Bench[] = [{ name: 'ddp.allreduce_gibps', run: allreduce }];
