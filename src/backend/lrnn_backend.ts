// The 'lrnn' TF.js backend: the cpu backend's TypedArray storage (no wasm32 4 GB cap) with its kernels,
// and the hot ones replaced by native implementations (OpenBLAS GEMM, elementwise, reductions).
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from './native.ts';
import { makeAddN, makeBinary, makeTranspose, makeUnary } from './kernels/elementwise.ts';
import { makeBatchMatMul } from './kernels/matmul.ts';
import { Binary, Reduce, Unary } from './kernels/opcodes.ts';
import { makeReduce } from './kernels/reduce.ts';

export const LRNN_BACKEND = 'lrnn';

/** Names of the kernels that run natively on the lrnn backend (for `lrnn doctor` and the tests). */
export const nativeKernelNames: string[] = [
  tf.BatchMatMul, tf.AddN, tf.Transpose, ...Object.keys(Binary), ...Object.keys(Unary), ...Object.keys(Reduce),
];

let registered = false;

/** A MathBackendCPU without its one-time console advert for tfjs-node (we choose backends ourselves). */
export function quietCpuBackend(): MathBackendCPU {
  const b = new MathBackendCPU();
  (b as unknown as { firstUse: boolean }).firstUse = false;
  return b;
}

/** Registers the lrnn backend (idempotent). The cpu backend must be registered (importing it does that). */
export function registerLrnnBackend(addon: NativeAddon, priority = 3): void {
  if (registered) return;
  registered = true;
  tf.registerBackend(LRNN_BACKEND, quietCpuBackend, priority);
  const natives: Record<string, tf.KernelFunc> = {
    [tf.BatchMatMul]: makeBatchMatMul(addon), [tf.AddN]: makeAddN(addon), [tf.Transpose]: makeTranspose(addon),
  };
  for (const k of Object.keys(Binary) as (keyof typeof Binary)[]) natives[k] = makeBinary(addon, k);
  for (const k of Object.keys(Unary) as (keyof typeof Unary)[]) natives[k] = makeUnary(addon, k);
  for (const k of Object.keys(Reduce) as (keyof typeof Reduce)[]) natives[k] = makeReduce(addon, k);
  for (const k of tf.getKernelsForBackend('cpu')) {
    tf.registerKernel({ ...k, backendName: LRNN_BACKEND, kernelFunc: natives[k.kernelName] ?? k.kernelFunc });
  }
}
