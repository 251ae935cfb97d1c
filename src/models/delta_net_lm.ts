// DeltaNetForCausalLM (docs/checkpoint-format.md §5.4): h = E[x]; per block a = h + DeltaNet(rmsnorm(h)),
// h = a + SwiGLU(rmsnorm(a)); logits = rmsnorm(h) · lm_headᵀ (untied). B batch, T time, D width, V vocab.
import * as tf from '@tensorflow/tfjs-core';
import { type DeltaNetLayerOptions, type DeltaNetLayerState, deltaNetMixer } from '../layers/delta_net.ts';
import { embed } from '../layers/embedding.ts';
import { param } from '../layers/params.ts';
import { rmsNorm } from '../layers/rms_norm.ts';
import { swiglu } from '../layers/swiglu.ts';
import { type DeltaNetConfig, deltaNetDims } from './deltanet/config.ts';
import { CausalLM, type HostTensor } from './lm.ts';

export class DeltaNetLM extends CausalLM {
  declare readonly config: DeltaNetConfig;
  readonly layerOptions: DeltaNetLayerOptions;

  constructor(config: DeltaNetConfig, weights: Map<string, HostTensor>) {
    super(config, weights);
    const d = deltaNetDims(config);
    this.layerOptions = {
      hiddenSize: d.D, numHeads: d.H, keyDim: d.keyDim, valueDim: d.valueDim, convSize: d.W,
      useShortConv: config.use_short_conv, useBeta: config.use_beta, normEps: config.norm_eps,
      allowNegEigval: config.allow_neg_eigval,
    };
  }

  protected embedTokens(tokens: tf.Tensor2D): tf.Tensor3D {
    return embed(tokens, param(this.params, 'model.embeddings.weight'));
  }

  protected headParts(h: tf.Tensor3D) {
    return { input: rmsNorm(h, param(this.params, 'model.norm.weight'), this.config.norm_eps), weight: param(this.params, 'lm_head.weight') };
  }

  protected blocks(h: tf.Tensor3D, run: { states?: unknown[]; wantState: boolean; collectStats: boolean }) {
    const eps = this.config.norm_eps;
    const states: DeltaNetLayerState[] = [];
    const stats: tf.Tensor1D[] = [];
    for (let i = 0; i < this.config.num_hidden_layers; ++i) {
      const p = `model.layers.${i}.`;
      const r = deltaNetMixer(this.params, p + 'attn.', this.layerOptions, rmsNorm(h, param(this.params, p + 'attn_norm.weight'), eps), {
        ...(run.states ? { state: run.states[i] as DeltaNetLayerState } : {}),
        wantState: run.wantState,
        collectStats: run.collectStats,
      });
      const a = tf.add(h, r.y) as tf.Tensor3D;
      h = tf.add(a, swiglu(this.params, p + 'mlp.', rmsNorm(a, param(this.params, p + 'mlp_norm.weight'), eps))) as tf.Tensor3D;
      if (r.state) states.push(r.state);
      if (r.stats) stats.push(r.stats);
    }
    return { h, ...(run.wantState ? { states } : {}), ...(run.collectStats ? { stats } : {}) };
  }
}
