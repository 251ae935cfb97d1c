// GatherV2 and UnsortedSegmentSum (its gradient): every embedding lookup. TF.js's cpu kernels convert
// indices per element (gather: ≈ 55 ms of a 0.5 s task step at [128·40] ids × 128 wide) and build a mask
// per segment (segment sum: O(segments × rows × width), 1.8 s for a 512-token vocab at 256 tokens × 64
// wide); here gather copies whole rows and the segment sum scatters each row in one pass.
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { type Args, cpuKernel } from './common.ts';

export function makeUnsortedSegmentSum(): tf.KernelFunc {
  const fallback = cpuKernel(tf.UnsortedSegmentSum);
  return (args: Args) => {
    const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
    const { numSegments } = args.attrs as unknown as { numSegments: number };
    if (x.dtype !== 'float32' && x.dtype !== 'int32') return fallback(args);
    const backend = args.backend as MathBackendCPU;
    const idRank = segmentIds.shape.length;
    const rows = tf.util.sizeFromShape(segmentIds.shape);
    const width = tf.util.sizeFromShape(x.shape.slice(idRank));
    const xv = backend.data.get(x.dataId).values as Float32Array | Int32Array;
    const ids = backend.data.get(segmentIds.dataId).values as Int32Array;
    const out = x.dtype === 'float32' ? new Float32Array(numSegments * width) : new Int32Array(numSegments * width);
    for (let r = 0; r < rows; ++r) {
      const s = ids[r]!;
      if (s < 0 || s >= numSegments) continue; // TF semantics: out-of-range ids are dropped
      const o = s * width, i = r * width;
      for (let j = 0; j < width; ++j) out[o + j] += xv[i + j]!;
    }
    return backend.makeTensorInfo([numSegments, ...x.shape.slice(idRank)], x.dtype, out);
  };
}

/** Row gather along axis 0 without batch dims (the embedding case); anything else goes to the cpu kernel. */
export function makeGatherV2(): tf.KernelFunc {
  const fallback = cpuKernel(tf.GatherV2);
  return (args: Args) => {
    const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
    const { axis, batchDims } = args.attrs as unknown as { axis: number; batchDims?: number };
    const ax = axis < 0 ? axis + x.shape.length : axis;
    if (ax !== 0 || (batchDims ?? 0) !== 0 || indices.dtype !== 'int32' || (x.dtype !== 'float32' && x.dtype !== 'int32')) return fallback(args);
    const backend = args.backend as MathBackendCPU;
    const rows = x.shape[0]!;
    const width = tf.util.sizeFromShape(x.shape.slice(1));
    const xv = backend.data.get(x.dataId).values as Float32Array | Int32Array;
    const ids = backend.data.get(indices.dataId).values as Int32Array;
    const out = x.dtype === 'float32' ? new Float32Array(ids.length * width) : new Int32Array(ids.length * width);
    for (let r = 0; r < ids.length; ++r) {
      const s = ids[r]!;
      // TF.js's cpu kernel rejects out-of-range ids too; name the offending one.
      if (s < 0 || s >= rows) throw new Error(`gather: index ${s} at position ${r} is outside [0, ${rows - 1}]`);
      out.set(xv.subarray(s * width, (s + 1) * width), r * width);
    }
    return backend.makeTensorInfo([...indices.shape, ...x.shape.slice(1)], x.dtype, out);
  };
}

let registered = false;

/** Registers both kernels over the cpu backend (idempotent); the lrnn backend copies them. */
export function registerGatherKernels(): void {
  if (registered) return;
  registered = true;
  for (const [kernelName, kernelFunc] of [[tf.UnsortedSegmentSum, makeUnsortedSegmentSum()], [tf.GatherV2, makeGatherV2()]] as const) {
    tf.unregisterKernel(kernelName, 'cpu');
    tf.registerKernel({ kernelName, backendName: 'cpu', kernelFunc });
  }
}
