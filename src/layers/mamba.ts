// The Mamba-1 mixer (docs/checkpoint-format.md §8, mamba_simple.py): in_proj → [x | z]; x → causal conv1d (bias)
// + SiLU → x_proj → [dt_low | B | C]; Δ = softplus(dt_proj(dt_low) + bias); A = −exp(A_log); selective scan
// with Ā = exp(ΔA), or 2·exp(ΔA) − 1 with allowNegEigval; + D·x; gate silu(z) → out_proj.
// B batch, T time, D model width, Di inner width, N state size, R dt rank, W conv width.
import * as tf from '@tensorflow/tfjs-core';
import { selectiveScan } from './kernels.ts';
import { linear } from './linear.ts';
import { type Params, param } from './params.ts';
import { abarStats } from './mamba_stats.ts';
import { shortConv } from './short_conv.ts';

export interface MambaLayerOptions {
  hiddenSize: number;
  innerSize: number;
  stateSize: number;
  dtRank: number;
  convKernel: number;
  useConvBias: boolean;
  /** Ā = 2·exp(ΔA) − 1 ∈ (−1,1) instead of exp(ΔA) ∈ (0,1). */
  allowNegEigval: boolean;
}

/** Per-layer decoding cache: the conv tail [B,W−1,Di] and the scan state h [B,Di,N]. */
export interface MambaLayerState {
  conv: tf.Tensor3D;
  h: tf.Tensor3D;
}

export interface MambaLayerResult {
  y: tf.Tensor3D;
  state?: MambaLayerState;
  /** [fraction of Ā < 0, min Ā, max Ā] as a float32 [3] tensor, when collectStats. */
  stats?: tf.Tensor1D;
}

/** `prefix` is e.g. 'backbone.layers.0.mixer.'; u [B,T,D] is the normed layer input. */
export function mambaMixer(
  p: Params, prefix: string, o: MambaLayerOptions, u: tf.Tensor3D,
  run: { state?: MambaLayerState; wantState?: boolean; collectStats?: boolean } = {},
): MambaLayerResult {
  return tf.tidy(() => {
    const [B, T] = u.shape;
    const { innerSize: Di, stateSize: N, dtRank: R } = o;
    const xz = linear(u, param(p, prefix + 'in_proj.weight'));
    const x0 = tf.slice(xz, [0, 0, 0], [B, T, Di]) as tf.Tensor3D;
    const z = tf.slice(xz, [0, 0, Di], [B, T, Di]) as tf.Tensor3D;
    const conv = shortConv(x0, param(p, prefix + 'conv1d.weight'), {
      silu: true,
      ...(o.useConvBias ? { bias: param(p, prefix + 'conv1d.bias') as tf.Tensor as tf.Tensor1D } : {}),
      ...(run.state ? { state: run.state.conv } : {}),
      wantState: !!run.wantState,
    });
    const x = conv.y;
    const xdbl = linear(x, param(p, prefix + 'x_proj.weight'));
    const dtLow = tf.slice(xdbl, [0, 0, 0], [B, T, R]);
    const Bm = tf.slice(xdbl, [0, 0, R], [B, T, N]) as tf.Tensor3D;
    const Cm = tf.slice(xdbl, [0, 0, R + N], [B, T, N]) as tf.Tensor3D;
    const dtRaw = linear(dtLow, param(p, prefix + 'dt_proj.weight')) as tf.Tensor3D; // bias goes inside the softplus
    const dtBias = param(p, prefix + 'dt_proj.bias') as tf.Tensor as tf.Tensor1D;
    const A = tf.neg(tf.exp(param(p, prefix + 'A_log'))) as tf.Tensor2D;
    const { y, finalState } = selectiveScan(x, dtRaw, A, Bm, Cm, {
      D: param(p, prefix + 'D') as tf.Tensor as tf.Tensor1D,
      z,
      deltaBias: dtBias,
      deltaSoftplus: true,
      allowNegEigval: o.allowNegEigval,
      ...(run.state ? { initialState: run.state.h } : {}),
    });
    const out: MambaLayerResult = { y: linear(y, param(p, prefix + 'out_proj.weight')) as tf.Tensor3D };
    if (run.wantState) out.state = { conv: conv.state!, h: finalState };
    if (run.collectStats) {
      // Read off values (no gradient path), without materialising Ā [B,T,Di,N]: see mamba_stats.ts.
      const delta = tf.softplus(tf.add(dtRaw, dtBias)).dataSync() as Float32Array;
      out.stats = tf.tensor1d(abarStats(delta, A.dataSync() as Float32Array, Di, N, o.allowNegEigval));
    }
    return out as unknown as tf.TensorContainer;
  }) as unknown as MambaLayerResult;
}
