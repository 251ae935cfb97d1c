// Zero-copy access to tensor storage for kernels that run outside TF.js's op set (native or fused TS).
// On TypedArray-backed backends (lrnn, cpu) a float32 tensor's values are read in place; elsewhere they are
// downloaded. Never write into an array returned by f32(): it is the tensor's own storage.
import * as tf from '@tensorflow/tfjs-core';

interface CpuLikeBackend {
  data: { get(id: object): { values?: ArrayLike<number>; refCount?: number } };
}

function cpuStorage(): CpuLikeBackend | null {
  const name = tf.getBackend();
  return name === 'lrnn' || name === 'cpu' ? (tf.backend() as unknown as CpuLikeBackend) : null;
}

/** The float32 values of `t`, without a copy where the backend allows it. */
export function f32(t: tf.Tensor): Float32Array {
  if (t.dtype !== 'float32') throw new TypeError(`expected a float32 tensor, got ${t.dtype} [${t.shape}]`);
  const be = cpuStorage();
  if (be) {
    const v = be.data.get(t.dataId).values;
    if (v instanceof Float32Array) return v;
  }
  return t.dataSync() as Float32Array;
}

/** The int32 values of `t`, without a copy where the backend allows it. */
export function i32(t: tf.Tensor): Int32Array {
  if (t.dtype !== 'int32') throw new TypeError(`expected an int32 tensor, got ${t.dtype} [${t.shape}]`);
  const be = cpuStorage();
  if (be) {
    const v = be.data.get(t.dataId).values;
    if (v instanceof Int32Array) return v;
  }
  return t.dataSync() as Int32Array;
}

/** A float32 tensor that owns `values` (no copy on TypedArray-backed backends). */
export function fromF32(values: Float32Array, shape: number[]): tf.Tensor {
  return tf.tensor(values, shape, 'float32');
}

/** True when tensors live in JS TypedArrays that native kernels can read and write in place. */
export function hasTypedArrayStorage(): boolean {
  return cpuStorage() !== null;
}

/**
 * The storage of variable `v`, writable in place (the optimizer updates parameters there: no per-step copy
 * and no new tensor). A variable shares its storage with the tensor it was made from, and some kernels
 * (reshape, identity) return views of their input, so when anything else holds the same storage the variable
 * first gets a private copy: writing never changes another tensor. Null on backends without TypedArray storage.
 */
export function ownedF32(v: tf.Variable): Float32Array | null {
  const be = cpuStorage();
  if (!be || v.dtype !== 'float32') return null;
  let d = be.data.get(v.dataId);
  if ((d.refCount ?? 1) > 1 || !(d.values instanceof Float32Array)) {
    const copy = tf.tensor(f32(v).slice(), v.shape, 'float32');
    v.assign(copy);
    copy.dispose();
    d = be.data.get(v.dataId);
  }
  return d.values instanceof Float32Array ? d.values : null;
}
