// Loads the native addon (build/Release/lrnn.node) once, after choosing OpenBLAS's core type.
// Nothing here is required: when the addon is missing or fails to load, `native()` returns null and
// `nativeLoadError()` says why, and callers fall back to TS implementations.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The addon's exports. Kernel files add their own functions; they are typed where they are used. */
export interface NativeAddon {
  batchMatMul(a: Float32Array, b: Float32Array, out: Float32Array, M: number, N: number, K: number,
    transA: boolean, transB: boolean, aOffsets: Float64Array, bOffsets: Float64Array, batch: number): void;
  sgemm(a: Float32Array, b: Float32Array, c: Float32Array, M: number, N: number, K: number,
    transA: boolean, transB: boolean, alpha?: number, beta?: number): void;
  setBlasThreads(n: number): void;
  getBlasThreads(): number;
  blasInfo(): { config: string; coreName: string; threads: number };
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array, shape: Int32Array,
    aStrides: Float64Array, bStrides: Float64Array): void;
  unary(op: number, x: Float32Array, out: Float32Array, alpha?: number): void;
  reduce(op: number, x: Float32Array, out: Float32Array, outer: number, red: number, inner: number): void;
  softmaxXent(logits: Float32Array, labels: Int32Array, loss: Float32Array, dlogits: Float32Array | null,
    ignoreIndex: number, rows: number, vocab: number): void;
  transpose(x: Float32Array, out: Float32Array, shape: Int32Array, perm: Int32Array): void;
  scaleRows(x: Float32Array, scale: Float32Array, out: Float32Array, rows: number, cols: number): void;
  withMpi: boolean;
  // Fused kernels (src/native/*.cc) register further functions; look them up by name.
  [name: string]: unknown;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const addonPath = path.join(root, 'build', 'Release', 'lrnn.node');

let loaded: NativeAddon | null | undefined;
let loadError: string | undefined;
let coreTypeNote = '';

/** CPU flags from /proc/cpuinfo (Linux); empty elsewhere. */
export function cpuFlags(): Set<string> {
  try {
    const txt = readFileSync('/proc/cpuinfo', 'utf8');
    const line = txt.split('\n').find((l) => l.startsWith('flags'));
    return new Set(line ? line.split(':')[1]!.trim().split(/\s+/) : []);
  } catch {
    return new Set();
  }
}

/**
 * OpenBLAS reads OPENBLAS_CORETYPE when the library loads. Some environments pin an AVX2 core (Haswell)
 * on AVX-512 machines, which made sgemm 1.85× slower in our measurement, so on CPUs with the AVX-512 subsets
 * OpenBLAS's SkylakeX kernels need we select them; never on CPUs without them (illegal instruction).
 * LRNN_OPENBLAS_CORETYPE=<name> forces a core, LRNN_OPENBLAS_CORETYPE=keep leaves the environment alone.
 */
function chooseCoreType(): void {
  const forced = process.env.LRNN_OPENBLAS_CORETYPE;
  if (forced === 'keep') {
    coreTypeNote = 'kept from the environment (LRNN_OPENBLAS_CORETYPE=keep)';
    return;
  }
  if (forced) {
    process.env.OPENBLAS_CORETYPE = forced;
    coreTypeNote = `forced by LRNN_OPENBLAS_CORETYPE=${forced}`;
    return;
  }
  const f = cpuFlags();
  const skx = ['avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl'].every((x) => f.has(x));
  if (skx) {
    const core = f.has('avx512_bf16') ? 'Cooperlake' : 'SkylakeX';
    const before = process.env.OPENBLAS_CORETYPE;
    process.env.OPENBLAS_CORETYPE = core;
    coreTypeNote = before && before !== core ? `${core} (CPU has AVX-512; the environment pinned ${before})` : `${core} (CPU has AVX-512)`;
  } else {
    coreTypeNote = process.env.OPENBLAS_CORETYPE ? `from the environment (${process.env.OPENBLAS_CORETYPE})` : 'detected by OpenBLAS';
  }
}

/** The addon, or null when it is absent or cannot load (see nativeLoadError()). LRNN_NO_NATIVE=1 disables it. */
export function native(): NativeAddon | null {
  if (loaded !== undefined) return loaded;
  if (process.env.LRNN_NO_NATIVE) {
    loadError = 'disabled by LRNN_NO_NATIVE';
    return (loaded = null);
  }
  if (!existsSync(addonPath)) {
    loadError = `${path.relative(process.cwd(), addonPath) || addonPath} not found (run \`npm run build:native\`; needs libopenblas-dev and g++)`;
    return (loaded = null);
  }
  chooseCoreType();
  try {
    const require = createRequire(import.meta.url);
    loaded = require(addonPath) as NativeAddon;
    const threads = Number(process.env.LRNN_BLAS_THREADS ?? 1);
    loaded.setBlasThreads(Number.isInteger(threads) && threads > 0 ? threads : 1);
  } catch (err) {
    loadError = `${addonPath} failed to load: ${(err as Error).message}`;
    loaded = null;
  }
  return loaded;
}

export function nativeLoadError(): string | undefined {
  native();
  return loadError;
}

export function blasCoreTypeNote(): string {
  return coreTypeNote;
}

/** A fused kernel's native function by name, or null when the addon or that function is absent. */
export function nativeFn<F extends (...args: never[]) => unknown>(name: string): F | null {
  const a = native();
  const f = a ? a[name] : undefined;
  return typeof f === 'function' ? (f as F) : null;
}
