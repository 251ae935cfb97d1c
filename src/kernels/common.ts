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
