// RMSNorm over the last axis (docs/checkpoint-format.md §5.2): u / sqrt(mean(u²) + eps) · w. Mean, not sum; eps
// inside the root; no mean subtraction, no bias.
// Both run on the fused norm kernel (src/kernels/norm: one pass forward, one backward).
import type * as tf from '@tensorflow/tfjs-core';
import { l2NormFused, rmsNormFused } from '../kernels/norm/index.ts';

export function rmsNorm<T extends tf.Tensor>(u: T, weight: tf.Tensor1D | tf.Variable, eps: number): T {
  return rmsNormFused(u, weight, eps);
}

/** u / sqrt(Σu² + eps) over the last axis (the q/k L2 norm of DeltaNet, eps 1e-6 inside the root). */
export function l2Norm<T extends tf.Tensor>(u: T, eps = 1e-6): T {
  return l2NormFused(u, eps);
}
