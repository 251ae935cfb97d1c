// Fused SwiGLU gate h = silu(g) · u, forward and backward in one pass each (TF.js composes sigmoid and two
// multiplies forward and about eight full-size ops backward at the MLP's inner width). Math: README.md.
import * as tf from '@tensorflow/tfjs-core';
import { f32, fromF32, hasTypedArrayStorage } from '../../backend/index.ts';
import { swigluGateRef } from './ref.ts';

/** σ(x) without overflow for large |x|. */
function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

export function swigluForward(g: Float32Array, u: Float32Array, h: Float32Array): void {
  for (let i = 0; i < h.length; ++i) h[i] = Math.fround(g[i]! * Math.fround(sigmoid(g[i]!))) * u[i]!;
}

/** dg = dh·u·σ(g)·(1 + g·(1 − σ(g))), du = dh·silu(g). */
export function swigluBackward(g: Float32Array, u: Float32Array, dh: Float32Array, dg: Float32Array, du: Float32Array): void {
  for (let i = 0; i < dh.length; ++i) {
    const gi = g[i]!, sg = sigmoid(gi);
    du[i] = dh[i]! * Math.fround(gi * sg);
    dg[i] = dh[i]! * u[i]! * sg * (1 + gi * (1 - sg));
  }
}

/** h = silu(g) · u elementwise; g and u of the same shape (… × I). */
export function swigluGate<T extends tf.Tensor>(g: T, u: T): T {
  if (!tf.util.arraysEqual(g.shape, u.shape)) throw new Error(`swigluGate: gate [${g.shape}] and up [${u.shape}] differ in shape`);
  if (!hasTypedArrayStorage() || g.dtype !== 'float32' || u.dtype !== 'float32') return swigluGateRef(g, u);
  const f = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const h = new Float32Array(a.size);
    swigluForward(f32(a), f32(b), h);
    save([a, b]);
    return {
      value: fromF32(h, a.shape),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sa, sb] = saved as [tf.Tensor, tf.Tensor];
        const dg = new Float32Array(sa.size), du = new Float32Array(sa.size);
        swigluBackward(f32(sa), f32(sb), f32(dy), dg, du);
        return [fromF32(dg, sa.shape), fromF32(du, sa.shape)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(g, u) as T;
}
