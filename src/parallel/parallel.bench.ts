// Data-parallel benchmarks: MPI all-reduce algorithm bandwidth on one host (2 ranks, 64 MiB), and the
// training speed-up of 2 ranks over 1 (one BLAS thread each) on a small DeltaNet.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readMetrics, type StepRecord } from '../log/metrics.ts';
import type { Bench, BenchResult } from '../testing/bench_harness.ts';
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

/** Global training tokens/s of a run folder, from the first logged step to the last (start-up excluded). */
function runSpeed(runDir: string): number {
  const steps = readMetrics(path.join(runDir, 'metrics.jsonl')).filter((r): r is StepRecord => r.kind === 'step');
  const a = steps[0]!, b = steps[steps.length - 1]!;
  return (b.tokens_seen - a.tokens_seen) / (b.perf.elapsed_s - a.perf.elapsed_s);
}

async function speedup2w(): Promise<BenchResult> {
  if (!mpiAvailable()) throw new Error('addon built without MPI');
  const root = mkdtempSync(path.join(tmpdir(), 'lrnn-ddp-bench-'));
  try {
    let dataArgs: string[] = [];
    if (!existsSync('data/lrnn-mix/manifest.json')) {
      const { prepareTinyDataset } = await import('../data/fixtures/tiny_corpus.ts');
      const ds = await prepareTinyDataset(root);
      dataArgs = [`--data.dir=${ds}`, '--data.domains=["prose","more"]', '--data.weights=[1,1]'];
    }
    // Same per-rank batch: the 2-rank run does twice the work per step; speed-up = global tokens/s ratio.
    const common = ['default', `--out_dir=${root}`, ...dataArgs, '--train.steps=8', '--train.warmup=1', '--eval.every=0',
      '--eval.at_end=false', '--checkpoint.every=0', '--log.every=1', '--log.progress=false', '--no-prepare'];
    const env = { ...process.env, LRNN_BLAS_THREADS: '1' };
    const one = spawnSync(process.execPath, ['bin/lrnn.js', 'train', ...common, '--name=w1'], { encoding: 'utf8', env });
    if (one.status !== 0) throw new Error(`1-rank run failed: ${one.stderr}`);
    const m = mpirunCommand({ nproc: 2, command: ['train', ...common, '--name=w2'] });
    const two = spawnSync(m.cmd, m.args, { encoding: 'utf8', env: { ...env, ...m.env } });
    if (two.status !== 0) throw new Error(`2-rank run failed: ${two.stderr}`);
    const s1 = runSpeed(path.join(root, 'w1')), s2 = runSpeed(path.join(root, 'w2'));
    return { name: 'ddp.speedup_2w', value: +(s2 / s1).toFixed(3), unit: 'x', tokens_per_s_1w: +s1.toFixed(1), tokens_per_s_2w: +s2.toFixed(1), model: 'default recipe (DeltaNet small, 8x128 per rank)', blas_threads: 1, target: 1.8 };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export const benches: Bench[] = [
  { name: 'ddp.allreduce_gibps', run: allreduce },
  { name: 'ddp.speedup_2w', run: speedup2w },
];
