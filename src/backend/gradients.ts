// Gradients TF.js 4.22 gets wrong under broadcasting: BatchMatMul and SquaredDifference return the
// gradient at the broadcast (output) shape instead of summing it back to the input's shape, so tf.grads
// throws for e.g. [B,T,D] × [D,E] written as a batched matMul, or (x − mean)² with a broadcast mean.
// These replacements compute the same values and then reduce over the broadcast axes.
import * as tf from '@tensorflow/tfjs-core';

/** Sums `g` over the axes that broadcasting added or stretched, and reshapes it to `shape`. */
export function reduceToShape(g: tf.Tensor, shape: number[]): tf.Tensor {
  if (tf.util.arraysEqual(g.shape, shape)) return g;
  const lead = g.shape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.shape.length; ++i) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  return tf.reshape(axes.length ? tf.sum(g, axes) : g, shape);
}

let registered = false;

export function registerGradientFixes(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: tf.BatchMatMul,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved, attrs) => {
      const [a, b] = saved as [tf.Tensor, tf.Tensor];
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      const d = dy as tf.Tensor;
      let da: () => tf.Tensor, db: () => tf.Tensor;
      if (!transposeA && !transposeB) {
        da = () => tf.matMul(d, b, false, true);
        db = () => tf.matMul(a, d, true, false);
      } else if (!transposeA && transposeB) {
        da = () => tf.matMul(d, b, false, false);
        db = () => tf.matMul(d, a, true, false);
      } else if (transposeA && !transposeB) {
        da = () => tf.matMul(b, d, false, true);
        db = () => tf.matMul(a, d, false, false);
      } else {
        da = () => tf.matMul(b, d, true, true);
        db = () => tf.matMul(d, a, true, true);
      }
      return { a: () => reduceToShape(da(), a.shape), b: () => reduceToShape(db(), b.shape) };
    },
  });
  tf.registerGradient({
    kernelName: tf.SquaredDifference,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as [tf.Tensor, tf.Tensor];
      const two = tf.scalar(2);
      return {
        a: () => reduceToShape(tf.mul(dy as tf.Tensor, tf.mul(two, tf.sub(a, b))), a.shape),
        b: () => reduceToShape(tf.mul(dy as tf.Tensor, tf.mul(two, tf.sub(b, a))), b.shape),
      };
    },
  });
  // Ties send the gradient to `a`, as TF.js does.
  for (const [kernelName, pickA] of [[tf.Maximum, tf.greaterEqual], [tf.Minimum, tf.lessEqual]] as const) {
    tf.registerGradient({
      kernelName,
      inputsToSave: ['a', 'b'],
      gradFunc: (dy, saved) => {
        const [a, b] = saved as [tf.Tensor, tf.Tensor];
        const d = dy as tf.Tensor;
        return {
          a: () => reduceToShape(tf.mul(d, tf.cast(pickA(a, b), 'float32')), a.shape),
          b: () => reduceToShape(tf.mul(d, tf.cast(tf.logicalNot(pickA(a, b)), 'float32')), b.shape),
        };
      },
    });
  }
}
