// Run by parallel.bench.ts under mpirun: times in-place all-reduces of `LRNN_BENCH_BYTES` and prints, on
// rank 0, the median seconds as JSON.
import { initBackend } from '../backend/index.ts';
import { getWorld } from './mpi.ts';

await initBackend();
const w = getWorld();
const n = Number(process.env.LRNN_BENCH_BYTES ?? 64 * 2 ** 20) / 4;
const buf = new Float32Array(n).fill(1);
for (let i = 0; i < 2; ++i) w.allreduceSum(buf);
const times: number[] = [];
for (let i = 0; i < 10; ++i) {
  w.barrier();
  const t0 = performance.now();
  w.allreduceSum(buf);
  times.push((performance.now() - t0) / 1000);
}
times.sort((a, b) => a - b);
if (w.rank === 0) console.log(JSON.stringify({ size: w.size, median_s: times[5], min_s: times[0] }));
