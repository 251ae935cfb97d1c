// y = x Wᵀ (+ b) with W in PyTorch's [out, in] layout, for x of any rank [..., in].
import * as tf from '@tensorflow/tfjs-core';

export function linear(x: tf.Tensor, weight: tf.Tensor2D | tf.Variable, bias?: tf.Tensor | tf.Variable): tf.Tensor {
  return tf.tidy(() => {
    const inF = x.shape[x.shape.length - 1]!;
    const outF = weight.shape[0]!;
    if (weight.shape[1] !== inF) throw new Error(`linear: input width ${inF} but weight is [${weight.shape}]`);
    const lead = x.shape.slice(0, -1);
    let y: tf.Tensor = tf.matMul(tf.reshape(x, [-1, inF]), weight as tf.Tensor2D, false, true);
    if (bias) y = tf.add(y, bias);
    return tf.reshape(y, [...lead, outF]);
  });
}
