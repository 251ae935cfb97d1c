// The norms as composed TF.js ops: the reference the fused kernel is tested against, and the path on
// backends without TypedArray storage. B… leading axes, D the normalised (last) axis.
import * as tf from '@tensorflow/tfjs-core';

/** u / sqrt(s·Σu² + eps) · w over the last axis; s = 1/D (RMSNorm) or 1 (L2 norm); w may be absent. */
export function normRef<T extends tf.Tensor>(u: T, weight: tf.Tensor | null, eps: number, mean: boolean): T {
  return tf.tidy(() => {
    const sq = mean ? tf.mean(tf.square(u), -1, true) : tf.sum(tf.square(u), -1, true);
    const y = tf.mul(u, tf.rsqrt(tf.add(sq, eps)));
    return (weight ? tf.mul(y, weight) : y) as T;
  });
}
