// Kernels the wasm backend lacks but training needs: UnsortedSegmentSum is the gradient of tf.gather
// (embedding lookups). Implemented on the wasm heap's views; the output is allocated first because
// allocation may grow (and move) the heap.
import * as tf from '@tensorflow/tfjs-core';

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array;
}

export function registerWasmGapKernels(): void {
  if (tf.getKernel(tf.UnsortedSegmentSum, 'wasm')) return;
  tf.registerKernel({
    kernelName: tf.UnsortedSegmentSum,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const { numSegments } = attrs as unknown as { numSegments: number };
      const be = backend as unknown as WasmBackendLike;
      const rowSize = tf.util.sizeFromShape(x.shape.slice(segmentIds.shape.length));
      const rows = tf.util.sizeFromShape(segmentIds.shape);
      const out = be.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype);
      const xv = be.typedArrayFromHeap(x), ids = be.typedArrayFromHeap(segmentIds), ov = be.typedArrayFromHeap(out);
      ov.fill(0);
      for (let r = 0; r < rows; ++r) {
        const s = ids[r]!;
        if (s < 0 || s >= numSegments) continue;
        for (let j = 0; j < rowSize; ++j) ov[s * rowSize + j]! += xv[r * rowSize + j]!;
      }
      return out;
    },
  });
}
