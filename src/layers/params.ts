// The flat parameter map every layer reads from: exact reference tensor names (docs/checkpoint-format.md §4, §7)
// to tf.Variables in PyTorch layout, so checkpoint save/load is a direct mapping.
import type * as tf from '@tensorflow/tfjs-core';

export type Params = Map<string, tf.Variable>;

/** The parameter `name`, or an error naming it (a model built from the wrong config). */
export function param(p: Params, name: string): tf.Variable {
  const v = p.get(name);
  if (!v) throw new Error(`missing parameter '${name}'`);
  return v;
}
