// BatchMatMul on OpenBLAS sgemm: every transpose and batch-broadcast case, reading and writing the cpu
// backend's Float32Arrays in place. Batch broadcasting maps each output batch to its operands' offsets.
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from '../native.ts';
import { type Args, allocF32, cpuKernel, values } from './common.ts';

export function makeBatchMatMul(addon: NativeAddon): tf.KernelFunc {
  const fallback = cpuKernel(tf.BatchMatMul);
  return (args: Args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return fallback(args);
    const backend = args.backend as MathBackendCPU;
    const ra = a.shape.length, rb = b.shape.length;
    const M = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
    const Ka = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
    const Kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
    const N = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
    if (Ka !== Kb) {
      throw new Error(`Error in matMul: inner shapes (${Ka}) and (${Kb}) of Tensors with shapes ${a.shape} and ` +
        `${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`);
    }
    const aBatch = a.shape.slice(0, -2), bBatch = b.shape.slice(0, -2);
    const outBatch = tf.broadcast_util.assertAndGetBroadcastShape(aBatch, bBatch);
    const batch = tf.util.sizeFromShape(outBatch);
    const outShape = [...outBatch, M, N];
    // K = 0 gives zeros, which sgemm would not write.
    if (batch === 0 || M === 0 || N === 0 || Ka === 0) return backend.makeTensorInfo(outShape, 'float32', new Float32Array(batch * M * N));
    const out = allocF32(batch * M * N);
    const aOff = batchOffsets(aBatch, outBatch, M * Ka);
    const bOff = batchOffsets(bBatch, outBatch, Ka * N);
    addon.batchMatMul(values(backend, a), values(backend, b), out, M, N, Ka, transposeA, transposeB, aOff, bOff, batch);
    return backend.makeTensorInfo(outShape, 'float32', out);
  };
}

/** Element offset of each output batch's operand matrix, following numpy broadcasting of the batch dims. */
function batchOffsets(shape: number[], outShape: number[], matSize: number): Float64Array {
  const n = tf.util.sizeFromShape(outShape);
  const offs = new Float64Array(n);
  const rank = outShape.length;
  const strides = new Array<number>(rank).fill(0);
  let s = matSize;
  for (let i = shape.length - 1; i >= 0; --i) {
    const o = rank - shape.length + i;
    strides[o] = shape[i] === 1 ? 0 : s;
    s *= shape[i]!;
  }
  const idx = new Array<number>(rank).fill(0);
  let off = 0;
  for (let i = 0; i < n; ++i) {
    offs[i] = off;
    for (let d = rank - 1; d >= 0; --d) {
      if (++idx[d]! < outShape[d]!) {
        off += strides[d]!;
        break;
      }
      off -= strides[d]! * (outShape[d]! - 1);
      idx[d] = 0;
    }
  }
  return offs;
}
