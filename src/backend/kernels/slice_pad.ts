// Linear-time Slice (non-contiguous) and PadV2 (its gradient) for the TypedArray backends ('cpu', and 'lrnn'
// which copies cpu's kernels): TF.js's cpu kernels convert every element's index (indexToLoc per element);
// Mamba's x_proj/in_proj splits spent > 50 % of a step there. Here: copies of contiguous runs.
// Test: node scripts/test.mjs slice_pad
import * as tf from '@tensorflow/tfjs-core';

type Typed = Float32Array | Int32Array | Uint8Array;
interface TypedBackend {
  readSync(dataId: object): tf.backend_util.BackendValues;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): tf.TensorInfo;
}

const strides = (shape: readonly number[]) => {
  const s = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; --d) s[d] = s[d + 1]! * shape[d + 1]!;
  return s;
};

/**
 * Calls fn(srcOffset, dstOffset) for every contiguous run of a box of `size` placed at `begin` inside `shape`
 * (reading) while the destination is the dense box (or, for pad, the reverse). `run` is the run length.
 */
function forRuns(shape: readonly number[], begin: readonly number[], size: readonly number[], fn: (src: number, dst: number, run: number) => void): void {
  const r = shape.length;
  if (r === 0) { fn(0, 0, 1); return; }
  // Merge trailing dimensions that the box covers fully: their elements are one contiguous run.
  let k = r - 1;
  while (k > 0 && begin[k] === 0 && size[k] === shape[k]) --k;
  let run = 1;
  for (let d = k; d < r; ++d) run *= size[d]!;
  if (run === 0) return;
  const st = strides(shape);
  let base = 0;
  for (let d = 0; d < r; ++d) base += begin[d]! * st[d]!;
  const idx = new Array<number>(k).fill(0);
  let outer = 1;
  for (let d = 0; d < k; ++d) outer *= size[d]!;
  let src = base, dst = 0;
  for (let o = 0; o < outer; ++o) {
    fn(src, dst, run);
    dst += run;
    for (let d = k - 1; d >= 0; --d) {
      if (++idx[d]! < size[d]!) { src += st[d]!; break; }
      src -= st[d]! * (size[d]! - 1);
      idx[d] = 0;
    }
  }
}

/** x[begin : begin + size] of a row-major tensor of `shape`. */
export function sliceTyped<T extends Typed>(x: T, shape: readonly number[], begin: readonly number[], size: readonly number[]): T {
  const out = new (x.constructor as new (n: number) => T)(size.reduce((a, b) => a * b, 1));
  forRuns(shape, begin, size, (src, dst, run) => out.set(x.subarray(src, src + run), dst));
  return out;
}

/** Pads x of `shape` with `before`/`after` elements per dimension, filled with `value`. */
export function padTyped<T extends Typed>(x: T, shape: readonly number[], before: readonly number[], after: readonly number[], value: number): T {
  const outShape = shape.map((s, d) => before[d]! + s + after[d]!);
  const out = new (x.constructor as new (n: number) => T)(outShape.reduce((a, b) => a * b, 1));
  if (value !== 0) out.fill(value);
  // Runs of x (dense) land in the box at `before` inside the output.
  const runs: [number, number, number][] = [];
  forRuns(outShape, before, shape, (o, i, run) => runs.push([o, i, run]));
  for (const [o, i, run] of runs) out.set(x.subarray(i, i + run), o);
  return out;
}

/** Registers Slice and PadV2 over the cpu backend (idempotent); call before the lrnn backend copies cpu's kernels. */
let registered = false;
export function registerSlicePadKernels(): void {
  if (registered) return;
  registered = true;
  const name = 'cpu';
  const replace = (kernelName: string, kernelFunc: tf.KernelFunc) => {
    const stock = tf.getKernel(kernelName, name);
    if (stock) tf.unregisterKernel(kernelName, name);
    tf.registerKernel({ kernelName, backendName: name, kernelFunc: (args) => kernelFunc(args) ?? stock!.kernelFunc(args) });
  };
  replace(tf.Slice, ({ inputs, attrs, backend }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    if (x.dtype === 'string' || x.dtype === 'complex64') return undefined as unknown as tf.TensorInfo;
    const { begin, size } = attrs as unknown as { begin: number | number[]; size: number | number[] };
    const [b, s] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
    // Contiguous slices are views in the stock kernel (no copy): keep that path.
    if (tf.slice_util.isSliceContinous(x.shape, b, s)) return undefined as unknown as tf.TensorInfo;
    tf.slice_util.assertParamsValid(x as tf.Tensor, b, s);
    const be = backend as unknown as TypedBackend;
    return be.makeTensorInfo(s, x.dtype, sliceTyped(be.readSync(x.dataId) as Typed, x.shape, b, s));
  });
  replace(tf.PadV2, ({ inputs, attrs, backend }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    if (x.dtype === 'string' || x.dtype === 'complex64') return undefined as unknown as tf.TensorInfo;
    const { paddings, constantValue } = attrs as unknown as { paddings: [number, number][]; constantValue: number };
    const be = backend as unknown as TypedBackend;
    const out = padTyped(be.readSync(x.dataId) as Typed, x.shape, paddings.map((p) => p[0]), paddings.map((p) => p[1]), constantValue);
    return be.makeTensorInfo(x.shape.map((d, i) => paddings[i]![0] + d + paddings[i]![1]), x.dtype, out);
  });
}
