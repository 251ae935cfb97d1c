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

/**
 * A fused op as TF.js sees it: a forward kernel, a backward kernel that returns one gradient per input (in
 * `inputs` order), and how the backward's inputs are made from the saved tensors and the upstream gradient.
 */
export interface FusedOpSpec {
  name: string;
  gradName: string;
  forward: tf.KernelFunc;
  backward: tf.KernelFunc;
  /** Input names, in the order the backward kernel returns their gradients. */
  inputs: readonly string[];
  /** Which forward outputs the backward needs (appended to the saved inputs). */
  outputsToSave?: boolean[];
  gradInputs(saved: tf.Tensor[], dy: tf.Tensor | tf.Tensor[]): tf.NamedTensorMap;
}

/** Registers both kernels of `spec` on `backendName` (idempotent) and its gradient (once): every fused op's one path. */
export function registerFusedOp(spec: FusedOpSpec, backendName: string): void {
  for (const [kernelName, kernelFunc] of [[spec.name, spec.forward], [spec.gradName, spec.backward]] as const) {
    if (!tf.getKernel(kernelName, backendName)) tf.registerKernel({ kernelName, backendName, kernelFunc });
  }
  if (tf.getGradient(spec.name)) return;
  tf.registerGradient({
    kernelName: spec.name,
    inputsToSave: [...spec.inputs],
    ...(spec.outputsToSave ? { outputsToSave: spec.outputsToSave } : {}),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs?: tf.NamedAttrMap) => {
      const grads = tf.engine().runKernel(spec.gradName, spec.gradInputs(saved, dy), attrs) as tf.Tensor[];
      const out: Record<string, () => tf.Tensor> = {};
      spec.inputs.forEach((k, i) => (out[k] = () => grads[i]!));
      return out;
    },
  });
}
