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
 * first gets a private copy: writing never changes another tensor. `tf.tensor(array)` keeps the caller's
 * array as storage, which no reference count shows: a caller that passes `mine` (the array this function
 * returned for it before) also gets a private copy whenever the storage is any other array, e.g. after
 * `assign` or a load of weights. Null on backends without TypedArray storage.
 */
export function ownedF32(v: tf.Variable, mine?: Float32Array | null): Float32Array | null {
  const be = cpuStorage();
  if (!be || v.dtype !== 'float32') return null;
  let d = be.data.get(v.dataId);
  if ((d.refCount ?? 1) > 1 || !(d.values instanceof Float32Array) || (mine !== undefined && d.values !== mine)) {
    const copy = tf.tensor(f32(v).slice(), v.shape, 'float32');
    v.assign(copy);
    copy.dispose();
    d = be.data.get(v.dataId);
  }
  return d.values instanceof Float32Array ? d.values : null;
}

/**
 * The storage of tensor `t` when no other tensor shares it (so a caller about to dispose `t` may write into
 * it, e.g. clip a gradient in place); null when it is shared (reshape views, a gradient returned for two
 * inputs) or the backend has no TypedArray storage.
 */
export function exclusiveF32(t: tf.Tensor): Float32Array | null {
  const be = cpuStorage();
  if (!be || t.dtype !== 'float32') return null;
  const d = be.data.get(t.dataId);
  return (d.refCount ?? 1) === 1 && d.values instanceof Float32Array ? d.values : null;
}
