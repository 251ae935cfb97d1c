// SwiGLU's gate as composed TF.js ops: h = silu(g) · u. The fused kernel's reference and the path on
// backends without TypedArray storage.
import * as tf from '@tensorflow/tfjs-core';

export function swigluGateRef<T extends tf.Tensor>(g: T, u: T): T {
  return tf.tidy(() => tf.mul(tf.mul(g, tf.sigmoid(g)), u) as T);
}
