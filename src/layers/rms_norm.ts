// RMSNorm over the last axis (docs/checkpoint-format.md §5.2): u / sqrt(mean(u²) + eps) · w. Mean, not sum; eps
// inside the root; no mean subtraction, no bias.
import * as tf from '@tensorflow/tfjs-core';

export function rmsNorm<T extends tf.Tensor>(u: T, weight: tf.Tensor1D | tf.Variable, eps: number): T {
  return tf.tidy(() => {
    const ms = tf.mean(tf.square(u), -1, true);
    return tf.mul(tf.mul(u, tf.rsqrt(tf.add(ms, eps))), weight) as T;
  });
}

/** u / sqrt(Σu² + eps) over the last axis (the q/k L2 norm of DeltaNet, eps 1e-6 inside the root). */
export function l2Norm<T extends tf.Tensor>(u: T, eps = 1e-6): T {
  return tf.tidy(() => tf.mul(u, tf.rsqrt(tf.add(tf.sum(tf.square(u), -1, true), eps))) as T);
}
