// Helpers shared by the fused kernels' TF.js wrappers: variant choice and input checks.
import * as tf from '@tensorflow/tfjs-core';
import { nativeFn } from '../backend/index.ts';

export type FusedVariant = 'native' | 'fused_ts' | 'reference';

/** 'auto' → native when the addon has `nativeName`, else the TS fallback; an explicit choice is checked. */
export function resolveFusedVariant(op: string, nativeName: string, v: string | undefined): FusedVariant {
  if (v === undefined || v === 'auto') return nativeFn(nativeName) ? 'native' : 'fused_ts';
  if (v === 'native' && !nativeFn(nativeName)) {
    throw new Error(`${op}: variant native requested but the native addon (or its ${nativeName}) is unavailable`);
  }
  if (v !== 'native' && v !== 'fused_ts' && v !== 'reference') throw new Error(`${op}: unknown variant '${String(v)}'`);
  return v;
}

/** Throws, naming the op and input, unless `t` is float32 of exactly `shape`. */
export function expectShape(op: string, name: string, t: tf.Tensor, shape: number[]): void {
  if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
    throw new Error(`${op}: ${name} must have shape [${shape}], got [${t.shape}]`);
  }
  if (t.dtype !== 'float32') throw new TypeError(`${op}: ${name} must be float32, got ${t.dtype}`);
}

/** What the fused kernels need of a backend: cpu/lrnn/webgl have makeTensorInfo, wasm has makeOutput. */
export interface HostBackend {
  readSync(dataId: object): unknown;
  makeTensorInfo?(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
  makeOutput?(shape: number[], dtype: 'float32', memoryOffset?: number, values?: Float32Array): tf.TensorInfo;
}

export function makeInfo(be: HostBackend, shape: number[], values: Float32Array): tf.TensorInfo {
  return be.makeTensorInfo ? be.makeTensorInfo(shape, 'float32', values) : be.makeOutput!(shape, 'float32', undefined, values);
}

/** True when the active backend can run the fused kernels (through readSync and makeTensorInfo/makeOutput). */
export function hostCapable(): boolean {
  const be = tf.backend() as unknown as HostBackend;
  return typeof be.makeTensorInfo === 'function' || typeof be.makeOutput === 'function';
}

/** A kernel input's float32 storage, naming the op and input when it is not float32. */
export function readInput(op: string, backend: HostBackend, t: tf.TensorInfo, name: string): Float32Array {
  if (t.dtype !== 'float32') throw new TypeError(`${op}: ${name} must be float32, got ${t.dtype}`);
  const v = backend.readSync(t.dataId);
  if (!(v instanceof Float32Array)) throw new TypeError(`${op}: ${name} is not stored as a Float32Array on this backend`);
  return v;
}
