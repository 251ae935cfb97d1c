// Token embedding: rows of E [V, D] gathered by int32 ids [B, T] → [B, T, D]. The gradient is a scatter-add
// into E (TF.js's gather gradient), which for tied Mamba is summed with the LM-head use.
import * as tf from '@tensorflow/tfjs-core';

export function embed(tokens: tf.Tensor2D, E: tf.Tensor2D | tf.Variable): tf.Tensor3D {
  if (tokens.dtype !== 'int32') throw new TypeError(`embed: token ids must be int32, got ${tokens.dtype}`);
  return tf.gather(E, tokens) as tf.Tensor3D;
}
