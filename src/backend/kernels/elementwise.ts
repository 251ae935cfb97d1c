// Float32 elementwise kernels (binary with broadcasting, unary, AddN) on the native addon. Other dtypes and
// complex inputs go to the cpu backend's kernels.
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from '../native.ts';
import { type Args, allocF32, broadcastStrides, coalesce, cpuKernel, values } from './common.ts';
import { Binary, Unary } from './opcodes.ts';

export function makeBinary(addon: NativeAddon, name: keyof typeof Binary): tf.KernelFunc {
  const fallback = cpuKernel(name);
  const op = Binary[name];
  return (args: Args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return fallback(args);
    const backend = args.backend as MathBackendCPU;
    const outShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const size = tf.util.sizeFromShape(outShape);
    const out = allocF32(size);
    if (size > 0) {
      const full = outShape.length === 0 ? [1] : outShape;
      const c = coalesce(full, [broadcastStrides(a.shape, full), broadcastStrides(b.shape, full)]);
      addon.binary(op, values(backend, a), values(backend, b), out, Int32Array.from(c.shape),
        Float64Array.from(c.strides[0]!), Float64Array.from(c.strides[1]!));
    }
    return backend.makeTensorInfo(outShape, 'float32', out);
  };
}

export function makeUnary(addon: NativeAddon, name: keyof typeof Unary): tf.KernelFunc {
  const fallback = cpuKernel(name);
  const op = Unary[name];
  return (args: Args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype !== 'float32') return fallback(args);
    const backend = args.backend as MathBackendCPU;
    const out = allocF32(tf.util.sizeFromShape(x.shape));
    const alpha = name === 'Step' ? Number((args.attrs as { alpha?: number }).alpha ?? 0) : 0;
    addon.unary(op, values(backend, x), out, alpha);
    return backend.makeTensorInfo(x.shape, 'float32', out);
  };
}

export function makeAddN(addon: NativeAddon): tf.KernelFunc {
  const fallback = cpuKernel(tf.AddN);
  return (args: Args) => {
    const tensors = args.inputs as unknown as tf.TensorInfo[];
    if (tensors.length === 0 || tensors.some((t) => t.dtype !== 'float32')) return fallback(args);
    const backend = args.backend as MathBackendCPU;
    const shape = tensors[0]!.shape;
    const size = tf.util.sizeFromShape(shape);
    const out = new Float32Array(size);
    if (tensors.length === 1) {
      out.set(values(backend, tensors[0]!));
    } else if (size > 0) {
      const sh = Int32Array.of(size), one = Float64Array.of(1);
      addon.binary(Binary.Add, values(backend, tensors[0]!), values(backend, tensors[1]!), out, sh, one, one);
      for (let i = 2; i < tensors.length; ++i) addon.binary(Binary.Add, out, values(backend, tensors[i]!), out, sh, one, one);
    }
    return backend.makeTensorInfo(shape, 'float32', out);
  };
}

/** Transpose of float32 tensors natively. An identity permutation (TF.js's gather gradient asks for one)
 * shares the input's storage, as Reshape does. */
export function makeTranspose(addon: NativeAddon): tf.KernelFunc {
  const fallback = cpuKernel(tf.Transpose);
  return (args: Args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { perm } = args.attrs as unknown as { perm: number[] };
    const backend = args.backend as MathBackendCPU;
    if (perm.every((p, i) => p === i)) {
      backend.incRef(x.dataId);
      return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
    }
    if (x.dtype !== 'float32' || x.shape.length > 8) return fallback(args);
    const out = allocF32(tf.util.sizeFromShape(x.shape));
    if (out.length > 0) addon.transpose(values(backend, x), out, Int32Array.from(x.shape), Int32Array.from(perm));
    return backend.makeTensorInfo(perm.map((p) => x.shape[p]!), 'float32', out);
  };
}
