// Fused SwiGLU gate h = silu(g) · u, forward and backward in one pass each (TF.js composes sigmoid and two
// multiplies forward and about eight full-size ops backward at the MLP's inner width). The loops run
// natively (src/native/swiglu.cc) when the addon has them, else as the TS loops below. Math: README.md.
import * as tf from '@tensorflow/tfjs-core';
import { f32, fromF32, hasTypedArrayStorage, nativeFn } from '../../backend/index.ts';
import { swigluGateRef } from './ref.ts';

type F = Float32Array;
type NativeFwd = (g: F, u: F, h: F) => void;
type NativeBwd = (g: F, u: F, dh: F, dg: F, du: F) => void;

/** Which loops the fused gate runs: 'auto' (native when the addon has them), or one explicitly (tests). */
export type SwigluLoops = 'auto' | 'native' | 'ts';

function loops(choice: SwigluLoops): { fwd: NativeFwd; bwd: NativeBwd } | null {
  if (choice === 'ts') return null;
  const fwd = nativeFn<NativeFwd>('swigluFwd'), bwd = nativeFn<NativeBwd>('swigluBwd');
  if (fwd && bwd) return { fwd, bwd };
  if (choice === 'native') throw new Error('swigluGate: native loops requested but the addon lacks swigluFwd/swigluBwd');
  return null;
}

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
export function swigluGate<T extends tf.Tensor>(g: T, u: T, choice: SwigluLoops = 'auto'): T {
  if (!tf.util.arraysEqual(g.shape, u.shape)) throw new Error(`swigluGate: gate [${g.shape}] and up [${u.shape}] differ in shape`);
  if (!hasTypedArrayStorage() || g.dtype !== 'float32' || u.dtype !== 'float32') return swigluGateRef(g, u);
  const nat = loops(choice);
  const f = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const h = new Float32Array(a.size);
    if (nat) nat.fwd(f32(a), f32(b), h);
    else swigluForward(f32(a), f32(b), h);
    save([a, b]);
    return {
      value: fromF32(h, a.shape),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sa, sb] = saved as [tf.Tensor, tf.Tensor];
        const dg = new Float32Array(sa.size), du = new Float32Array(sa.size);
        if (nat) nat.bwd(f32(sa), f32(sb), f32(dy), dg, du);
        else swigluBackward(f32(sa), f32(sb), f32(dy), dg, du);
        return [fromF32(dg, sa.shape), fromF32(du, sa.shape)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  // The named scope is what tf.profile reports for the op (a customGrad has no kernel name of its own).
  return tf.tidy('SwigluGate', () => f(g, u) as T);
}
