// SwiGLU MLP (docs/checkpoint-format.md §5.4): down( silu(gate(u)) · up(u) ). B batch, T time, D width, I inner.
import * as tf from '@tensorflow/tfjs-core';
import { swigluGate } from '../kernels/swiglu/index.ts';
import { linear } from './linear.ts';
import { type Params, param } from './params.ts';

/** `prefix` is e.g. 'model.layers.0.mlp.'; u [B,T,D] → [B,T,D]. */
export function swiglu(p: Params, prefix: string, u: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const g = linear(u, param(p, prefix + 'gate_proj.weight'));
    const up = linear(u, param(p, prefix + 'up_proj.weight'));
    return linear(swigluGate(g, up), param(p, prefix + 'down_proj.weight')) as tf.Tensor3D;
  });
}
