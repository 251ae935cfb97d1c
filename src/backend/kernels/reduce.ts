// Sum / Mean / Max / Min over a contiguous run of axes (the common case: bias gradients, losses, norms),
// natively; other axis patterns and dtypes go to the cpu backend's kernels.
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from '../native.ts';
import { type Args, cpuKernel, values } from './common.ts';
import { Reduce } from './opcodes.ts';

export function makeReduce(addon: NativeAddon, name: keyof typeof Reduce): tf.KernelFunc {
  const fallback = cpuKernel(name);
  const op = Reduce[name];
  return (args: Args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    // Sum and Mean name the axes `axis`; Max and Min name them `reductionIndices`.
    // A null/undefined axis means all axes (parseAxisParam).
    const attrs = args.attrs as unknown as { axis?: number | number[]; reductionIndices?: number | number[]; keepDims: boolean };
    const axis = ('axis' in attrs ? attrs.axis : attrs.reductionIndices) as number | number[];
    const keepDims = attrs.keepDims;
    if (x.dtype !== 'float32') return fallback(args);
    const shape = x.shape;
    const axes = [...new Set(tf.util.parseAxisParam(axis, shape))].sort((p, q) => p - q);
    const contiguous = axes.every((ax, i) => i === 0 || ax === axes[i - 1]! + 1);
    const red = axes.reduce((p, ax) => p * shape[ax]!, 1);
    if (!contiguous || (red === 0 && (name === 'Max' || name === 'Min'))) return fallback(args);
    const backend = args.backend as MathBackendCPU;
    const first = axes.length ? axes[0]! : 0;
    const last = axes.length ? axes[axes.length - 1]! : -1;
    const outer = shape.slice(0, first).reduce((p, d) => p * d, 1);
    const inner = shape.slice(last + 1).reduce((p, d) => p * d, 1);
    const outShape = keepDims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
    const out = new Float32Array(outer * inner);
    if (axes.length === 0) out.set(values(backend, x));
    else if (out.length > 0) addon.reduce(op, values(backend, x), out, outer, red, inner);
    return backend.makeTensorInfo(outShape, 'float32', out);
  };
}
