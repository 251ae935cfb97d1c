// Shared plumbing for native kernels registered over the cpu backend's TypedArray storage.
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

export type KernelFn = tf.KernelFunc;
export type Args = Parameters<tf.KernelFunc>[0];

/** The cpu backend's own implementation of a kernel, used when a native kernel declines an input. */
export function cpuKernel(name: string): KernelFn {
  const k = tf.getKernel(name, 'cpu');
  if (!k) throw new Error(`cpu backend has no kernel ${name}`);
  return k.kernelFunc;
}

/** A float32 tensor's storage. Some cpu kernels (Cast from bool, OnesLike) store a float32 tensor in another
 * TypedArray type; those are converted (copied) here. */
export function values(backend: MathBackendCPU, t: tf.TensorInfo): Float32Array {
  const v = backend.data.get(t.dataId).values;
  return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
}

/** Row-major strides of `shape` aligned to `outShape` (numpy broadcasting), 0 on broadcast dims. */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const rank = outShape.length;
  const strides = new Array<number>(rank).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; --i) {
    const o = rank - shape.length + i;
    strides[o] = shape[i] === 1 && outShape[o] !== 1 ? 0 : s;
    s *= shape[i]!;
  }
  return strides;
}

/**
 * Merges adjacent dims that step the same way for every operand, so the native loop's innermost run is as
 * long as possible (e.g. [64,32,128] + [128] becomes [2048,128]).
 */
export function coalesce(shape: number[], strides: number[][]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let i = 0; i < shape.length; ++i) {
    if (shape[i] === 1 && shape.length > 1) continue;
    const last = outShape.length - 1;
    const canMerge = last >= 0 && strides.every((st, k) => outStrides[k]![last] === st[i]! * shape[i]!);
    if (canMerge) {
      outShape[last]! *= shape[i]!;
      strides.forEach((st, k) => (outStrides[k]![last] = st[i]!));
    } else {
      outShape.push(shape[i]!);
      strides.forEach((st, k) => outStrides[k]!.push(st[i]!));
    }
  }
  if (outShape.length === 0) return { shape: [1], strides: strides.map(() => [1]) };
  return { shape: outShape, strides: outStrides };
}

/**
 * An output array the kernel will overwrite completely. Large ones skip zero-filling (Buffer.allocUnsafe:
 * the fill is a full extra pass over memory); below 64 KB Node would carve them from a shared pool, so
 * those are plain zeroed arrays.
 */
export function allocF32(n: number): Float32Array {
  if (n * 4 < 65536) return new Float32Array(n);
  const b = Buffer.allocUnsafe(n * 4);
  return new Float32Array(b.buffer, b.byteOffset, n);
}
