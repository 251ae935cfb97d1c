// UnsortedSegmentSum — the gradient of tf.gather, i.e. of every embedding lookup. TF.js's cpu kernel
// builds a mask per segment (O(segments × rows × width): 1.8 s for a 512-token vocab at 256 tokens × 64
// wide); this is one pass scattering each row into its segment.
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

let registered = false;

/** Registers the one-pass kernel over the cpu backend (idempotent); the lrnn backend copies it. */
export function registerSegmentSumKernel(): void {
  if (registered) return;
  registered = true;
  const kernelFunc = makeUnsortedSegmentSum();
  tf.unregisterKernel(tf.UnsortedSegmentSum, 'cpu');
  tf.registerKernel({ kernelName: tf.UnsortedSegmentSum, backendName: 'cpu', kernelFunc });
}
