// A small MPI program for the tests (run under mpirun): exercises init, sync and async all-reduce with many
// buffers in flight, broadcast and barrier, then prints one JSON line per rank. With LRNN_PROBE_HANG_RANK=r
// rank r stalls in step 1 so the watchdog test can watch the job abort; LRNN_PROBE_DIE_RANK=r kills itself.
import { hostname } from 'node:os';
import { initBackend } from '../backend/index.ts';
import { getWorld } from '../parallel/mpi.ts';

await initBackend();
const w = getWorld();
const hang = process.env.LRNN_PROBE_HANG_RANK, die = process.env.LRNN_PROBE_DIE_RANK;
if (hang !== undefined || die !== undefined) {
  const buf = new Float32Array(1024);
  for (let step = 0; ; ++step) {
    w.watchdog(step, Number(process.env.LRNN_PROBE_WATCHDOG_MS ?? 2000));
    if (step === 1 && String(w.rank) === hang) {
      const until = Date.now() + 600_000;
      while (Date.now() < until) { /* a rank stuck inside a step */ }
    }
    if (step === 1 && String(w.rank) === die) process.kill(process.pid, 'SIGKILL');
    w.allreduceSum(buf);
  }
}
const errors: string[] = [];
// Sync: rank r contributes r+1 at every index → sum = size(size+1)/2.
const n = 1000 + 7;
const a = new Float32Array(n).fill(w.rank + 1);
w.allreduceSum(a);
const want = (w.size * (w.size + 1)) / 2;
if (a.some((v) => v !== want)) errors.push(`sync allreduce: got ${a[0]} want ${want}`);
// Async, 40 buffers of different sizes in flight at once: each must get its own sum.
const bufs = Array.from({ length: 40 }, (_, i) => new Float32Array(1 + i * 997).fill((w.rank + 1) * (i + 1)));
await Promise.all(bufs.map((b) => w.allreduceSumAsync(b)));
bufs.forEach((b, i) => {
  if (b.some((v) => v !== want * (i + 1))) errors.push(`async buffer ${i}: got ${b[0]} want ${want * (i + 1)}`);
});
const c = new Float32Array(33).map((_, i) => (w.rank === 0 ? i * 0.5 : -1));
w.bcast(c, 0);
if (c.some((v, i) => v !== i * 0.5)) errors.push('bcast from rank 0 wrong');
w.barrier();
console.log(JSON.stringify({ rank: w.rank, size: w.size, host: hostname(), kind: w.kind, threadLevel: w.threadLevel, errors }));
