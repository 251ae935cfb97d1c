// Chooses and initialises the TF.js backend. Order for 'auto': tfjs-node-gpu / tfjs-node when installed and
// they initialise; else 'lrnn' (cpu storage + native kernels) when the addon loads; else stock 'cpu' with one
// warning. The active backend is always asserted, because TF.js silently falls back when a backend fails.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core's CommonJS build registers no gradients, and its ESM files cannot be imported by Node as they
// are (extensionless specifiers). The @tensorflow/tfjs bundle registers all of them into the same core.
import '@tensorflow/tfjs';
import { LRNN_BACKEND, nativeKernelNames, quietCpuBackend, registerLrnnBackend } from './lrnn_backend.ts';
import { registerGradientFixes } from './gradients.ts';
import { registerSlicePadKernels } from './kernels/slice_pad.ts';
import { registerGatherKernels } from './kernels/gather.ts';
import { blasCoreTypeNote, native, nativeLoadError } from './native.ts';

export { f32, i32, fromF32, hasTypedArrayStorage, ownedF32, exclusiveF32 } from './tensor_io.ts';
export { native, nativeFn, nativeLoadError, type NativeAddon } from './native.ts';

export type BackendChoice = 'auto' | 'lrnn' | 'cpu' | 'wasm' | 'tensorflow';

export interface BackendOptions {
  /** Which backend; 'auto' (default) picks the fastest that works. Also LRNN_BACKEND in the environment. */
  backend?: BackendChoice;
  /** OpenBLAS threads; default 1 (data-parallel training uses processes for cores). Also LRNN_BLAS_THREADS. */
  blasThreads?: number;
  /** Called once with a warning when a faster path is unavailable. */
  warn?: (msg: string) => void;
}

let warned = false;

async function tryTfjsNode(): Promise<boolean> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(pkg);
      if (await tf.setBackend('tensorflow')) return true;
    } catch {
      // Not installed (the usual case: its install needs internet). Try the next one.
    }
  }
  return false;
}

async function initWasm(): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const { createRequire } = await import('node:module');
  const path = await import('node:path');
  const dir = path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
  wasm.setWasmPaths(dir + path.sep);
  const { registerWasmGapKernels } = await import('./wasm_kernels.ts');
  registerWasmGapKernels();
}

/** Initialises the chosen backend and returns its name. Throws when an explicitly requested one fails. */
export async function initBackend(opts: BackendOptions = {}): Promise<string> {
  const choice = (opts.backend ?? (process.env.LRNN_BACKEND as BackendChoice | undefined) ?? 'auto') as BackendChoice;
  const warn = opts.warn ?? ((m: string) => console.warn(`lrnn: warning: ${m}`));
  registerGradientFixes();
  // Linear-time TS kernels over cpu storage; the lrnn backend copies them when it registers below.
  registerSlicePadKernels();
  registerGatherKernels();
  if (!tf.findBackend('cpu')) {
    // Same cpu backend, without its console advert for tfjs-node.
    tf.removeBackend('cpu');
    tf.registerBackend('cpu', quietCpuBackend, 1);
  }
  const addon = native();
  if (addon) {
    registerLrnnBackend(addon);
    const threads = opts.blasThreads ?? Number(process.env.LRNN_BLAS_THREADS ?? 1);
    addon.setBlasThreads(threads > 0 ? Math.floor(threads) : 1);
  }
  let want: string;
  if (choice === 'auto') {
    if (await tryTfjsNode()) return assertActive('tensorflow');
    if (addon) want = LRNN_BACKEND;
    else {
      if (!warned) warn(`native addon unavailable, using TF.js's pure-JS cpu backend (slow): ${nativeLoadError()}`);
      warned = true;
      want = 'cpu';
    }
  } else if (choice === 'tensorflow') {
    if (await tryTfjsNode()) return assertActive('tensorflow');
    throw new Error('backend tensorflow requested but @tensorflow/tfjs-node(-gpu) is not installed or failed to initialise');
  } else if (choice === 'lrnn') {
    if (!addon) throw new Error(`backend lrnn requested but the native addon is unavailable: ${nativeLoadError()}`);
    want = LRNN_BACKEND;
  } else if (choice === 'wasm') {
    await initWasm();
    want = 'wasm';
  } else if (choice === 'cpu') {
    want = 'cpu';
  } else {
    throw new Error(`unknown backend '${choice}' (expected auto, lrnn, cpu, wasm or tensorflow)`);
  }
  await tf.setBackend(want);
  await tf.ready();
  return assertActive(want);
}

function assertActive(want: string): string {
  const got = tf.getBackend();
  if (got !== want) throw new Error(`TF.js backend '${want}' failed to initialise (active: '${got}')`);
  return got;
}

export interface BackendReport {
  backend: string;
  addon: { loaded: boolean; error?: string };
  blas?: { config: string; coreName: string; threads: number; coreTypeChoice: string };
  nativeKernels: string[];
  cpu: { model: string; cores: number; avx512f: boolean };
  mpi: boolean;
  tfjsVersion: string;
}

export async function backendReport(): Promise<BackendReport> {
  const os = await import('node:os');
  const { cpuFlags } = await import('./native.ts');
  const addon = native();
  const cpus = os.cpus();
  const err = nativeLoadError();
  return {
    backend: tf.getBackend(),
    addon: err ? { loaded: !!addon, error: err } : { loaded: !!addon },
    ...(addon ? { blas: { ...addon.blasInfo(), coreTypeChoice: blasCoreTypeNote() } } : {}),
    nativeKernels: tf.getBackend() === LRNN_BACKEND ? nativeKernelNames : [],
    cpu: { model: cpus[0]?.model ?? 'unknown', cores: cpus.length, avx512f: cpuFlags().has('avx512f') },
    mpi: !!addon?.withMpi,
    tfjsVersion: tf.version_core,
  };
}
