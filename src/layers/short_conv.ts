// Short causal depthwise conv (docs/checkpoint-format.md §5.3) with an optional SiLU, over the causal_conv1d
// kernel, plus the decoding cache: the last W−1 inputs, so token-by-token decoding continues the same
// convolution. B batch, T time, C channels, W kernel width.
import * as tf from '@tensorflow/tfjs-core';
import { causalConv1d } from './kernels.ts';

export interface ShortConvResult {
  y: tf.Tensor3D;
  /** The last W−1 inputs [B,W−1,C] (zeros before the sequence start), when `wantState`. */
  state?: tf.Tensor3D;
}

/**
 * x [B,T,C]; weight in PyTorch layout [C,1,W]; state [B,W−1,C] continues a previous call.
 * y[t,c] = act(bias[c] + Σ_j w[c,0,j]·x[t−W+1+j,c]).
 */
export function shortConv(
  x: tf.Tensor3D, weight: tf.Tensor, opts: { bias?: tf.Tensor1D; silu?: boolean; state?: tf.Tensor3D; wantState?: boolean } = {},
): ShortConvResult {
  return tf.tidy(() => {
    const [B, T, C] = x.shape;
    const W = weight.shape[weight.shape.length - 1]!;
    if (weight.size !== C * W) throw new Error(`shortConv: weight [${weight.shape}] does not match ${C} channels`);
    const w2 = tf.reshape(weight, [C, W]) as tf.Tensor2D;
    const y = causalConv1d(x, w2, {
      ...(opts.bias ? { bias: opts.bias } : {}),
      activation: opts.silu ? 'silu' : null,
      ...(opts.state ? { initialState: opts.state } : {}),
    });
    if (!opts.wantState) return { y };
    const prev = opts.state ?? tf.zeros([B, W - 1, C]);
    const full = tf.concat([prev, x], 1);
    const state = tf.slice(full, [0, T, 0], [B, W - 1, C]) as tf.Tensor3D;
    return { y, state };
  });
}
