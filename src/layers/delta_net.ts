// The DeltaNet token mixer (docs/checkpoint-format.md §5.5, fla's DeltaNet layer): q/k/v projections → short
// causal conv + SiLU → per-head L2 norm of q, k → β = sigmoid(b_proj(u)), ×2 with allowNegEigval → delta
// rule (scale dk^−½) → per-head RMSNorm → o_proj. With a decoding state it continues a previous call.
// B batch, T time, D model width, H heads, K head key dim, V head value dim, W conv width.
import * as tf from '@tensorflow/tfjs-core';
import { deltaNetBeta, deltaRule } from './kernels.ts';
import { linear } from './linear.ts';
import { type Params, param } from './params.ts';
import { l2Norm, rmsNorm } from './rms_norm.ts';
import { shortConv } from './short_conv.ts';

export interface DeltaNetLayerOptions {
  hiddenSize: number;
  numHeads: number;
  keyDim: number;
  valueDim: number;
  convSize: number;
  useShortConv: boolean;
  useBeta: boolean;
  normEps: number;
  /** β ∈ (0,2) instead of (0,1): the transition I − βkkᵀ gets eigenvalues in (−1,1). */
  allowNegEigval: boolean;
}

/** Per-layer decoding cache: conv tails of q, k, v [B,W−1,C] and the state S [B,H,K,V]. */
export interface DeltaNetLayerState {
  convQ?: tf.Tensor3D;
  convK?: tf.Tensor3D;
  convV?: tf.Tensor3D;
  S: tf.Tensor4D;
}

export interface DeltaNetLayerResult {
  y: tf.Tensor3D;
  state?: DeltaNetLayerState;
  /** [fraction of β > 1, min β, max β] as a float32 [3] tensor, when collectStats. */
  stats?: tf.Tensor1D;
}

/** `prefix` is e.g. 'model.layers.0.attn.'; u [B,T,D] is the normed layer input. */
export function deltaNetMixer(
  p: Params, prefix: string, o: DeltaNetLayerOptions, u: tf.Tensor3D,
  run: { state?: DeltaNetLayerState; wantState?: boolean; collectStats?: boolean } = {},
): DeltaNetLayerResult {
  return tf.tidy(() => {
    const [B, T] = u.shape;
    const H = o.numHeads, K = o.keyDim / H, V = o.valueDim / H;
    const want = !!run.wantState;
    let q = linear(u, param(p, prefix + 'q_proj.weight')) as tf.Tensor3D;
    let k = linear(u, param(p, prefix + 'k_proj.weight')) as tf.Tensor3D;
    let v = linear(u, param(p, prefix + 'v_proj.weight')) as tf.Tensor3D;
    const state: Partial<DeltaNetLayerState> = {};
    if (o.useShortConv) {
      const cq = shortConv(q, param(p, prefix + 'q_conv1d.weight'), { silu: true, ...(run.state?.convQ ? { state: run.state.convQ } : {}), wantState: want });
      const ck = shortConv(k, param(p, prefix + 'k_conv1d.weight'), { silu: true, ...(run.state?.convK ? { state: run.state.convK } : {}), wantState: want });
      const cv = shortConv(v, param(p, prefix + 'v_conv1d.weight'), { silu: true, ...(run.state?.convV ? { state: run.state.convV } : {}), wantState: want });
      q = cq.y; k = ck.y; v = cv.y;
      if (want) { state.convQ = cq.state!; state.convK = ck.state!; state.convV = cv.state!; }
    } else {
      const silu = (x: tf.Tensor3D) => tf.mul(x, tf.sigmoid(x)) as tf.Tensor3D;
      q = silu(q); k = silu(k); v = silu(v);
    }
    // Heads are contiguous channel blocks, so a reshape splits them.
    const q4 = l2Norm(tf.reshape(q, [B, T, H, K])) as tf.Tensor4D;
    const k4 = l2Norm(tf.reshape(k, [B, T, H, K])) as tf.Tensor4D;
    const v4 = tf.reshape(v, [B, T, H, V]) as tf.Tensor4D;
    const sig: tf.Tensor3D = o.useBeta ? (tf.sigmoid(linear(u, param(p, prefix + 'b_proj.weight'))) as tf.Tensor3D) : tf.ones([B, T, H]);
    const beta = deltaNetBeta(sig, o.allowNegEigval);
    const { o: o4, finalState } = deltaRule(q4, k4, v4, beta, {
      scale: 1 / Math.sqrt(K),
      ...(run.state ? { initialState: run.state.S } : {}),
    });
    const normed = rmsNorm(o4, param(p, prefix + 'o_norm.weight'), o.normEps);
    const y = linear(tf.reshape(normed, [B, T, H * V]), param(p, prefix + 'o_proj.weight')) as tf.Tensor3D;
    const out: DeltaNetLayerResult = { y };
    if (want) out.state = { ...state, S: finalState };
    if (run.collectStats) {
      out.stats = tf.stack([tf.mean(tf.cast(tf.greater(beta, 1), 'float32')), tf.min(beta), tf.max(beta)]) as tf.Tensor1D;
    }
    return out as unknown as tf.TensorContainer;
  }) as unknown as DeltaNetLayerResult;
}
