// `lrnn doctor`: what lrnn will compute on — backend, native addon, BLAS build and core type, threads, MPI.
import { backendReport, initBackend, type BackendChoice } from '../backend/index.ts';
import { type Command, parseFlags } from './command.ts';
import { UsageError } from './errors.ts';

export const doctor: Command = {
  name: 'doctor',
  summary: 'print the active compute backend, native addon, BLAS and MPI status',
  usage: `Usage: lrnn doctor [--backend auto|lrnn|cpu|wasm|tensorflow] [--blas-threads N] [--json]

Prints the TF.js backend lrnn will use, whether the native addon loaded (and why not), the OpenBLAS build,
its core type and thread count, the CPU, and whether the addon was built with MPI.
Environment: LRNN_BACKEND, LRNN_BLAS_THREADS, LRNN_OPENBLAS_CORETYPE (a core name, or 'keep'), LRNN_NO_NATIVE.`,
  async run(argv) {
    const { values } = parseFlags(argv, { backend: { type: 'string' }, 'blas-threads': { type: 'string' } });
    const backend = values.backend as BackendChoice | undefined;
    if (backend && !['auto', 'lrnn', 'cpu', 'wasm', 'tensorflow'].includes(backend)) {
      throw new UsageError(`--backend: unknown backend '${backend}'`);
    }
    const threads = values['blas-threads'] === undefined ? undefined : Number(values['blas-threads']);
    if (threads !== undefined && !(Number.isInteger(threads) && threads > 0)) throw new UsageError('--blas-threads: expected a positive integer');
    const warnings: string[] = [];
    await initBackend({ ...(backend ? { backend } : {}), ...(threads ? { blasThreads: threads } : {}), warn: (m) => warnings.push(m) });
    const r = await backendReport();
    if (values.json) {
      console.log(JSON.stringify({ ...r, warnings }));
      return 0;
    }
    const rows: [string, string][] = [
      ['backend', r.backend],
      ['native addon', r.addon.loaded ? 'loaded' : `not loaded — ${r.addon.error}`],
      ['BLAS', r.blas ? r.blas.config : 'none (stock TF.js kernels)'],
      ['BLAS core', r.blas ? `${r.blas.coreName} — ${r.blas.coreTypeChoice}` : '-'],
      ['BLAS threads', r.blas ? String(r.blas.threads) : '-'],
      ['native kernels', r.nativeKernels.length ? r.nativeKernels.join(', ') : 'none'],
      ['CPU', `${r.cpu.model} × ${r.cpu.cores}${r.cpu.avx512f ? ' (avx512f)' : ''}`],
      ['MPI', r.mpi ? 'available (addon built with MPI)' : 'unavailable (addon built without MPI; single-process training only)'],
      ['TF.js', r.tfjsVersion],
    ];
    const w = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
    for (const m of warnings) console.log(`warning: ${m}`);
    return 0;
  },
};
