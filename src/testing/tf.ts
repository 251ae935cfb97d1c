// TF.js helpers for tests.
import * as tf from '@tensorflow/tfjs-core';

/** tf.tidy for a function that returns plain data (TypedArrays read out of tensors), not tensors. */
export function tidyData<T>(fn: () => T): T {
  let out!: T;
  tf.tidy(() => {
    out = fn();
  });
  return out;
}
