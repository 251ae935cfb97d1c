// MambaForCausalLM (docs/checkpoint-format.md §8): h = E[x]; per block h = h + Mixer(rmsnorm(h)) (no MLP);
// logits = rmsnorm(h) · Eᵀ (tied unless tie_word_embeddings is false). B batch, T time, D width, V vocab.
import * as tf from '@tensorflow/tfjs-core';
import { embed } from '../layers/embedding.ts';
import { type MambaLayerOptions, type MambaLayerState, mambaMixer } from '../layers/mamba.ts';
import { param } from '../layers/params.ts';
import { rmsNorm } from '../layers/rms_norm.ts';
import { type MambaConfig, mambaDims } from './mamba/config.ts';
import { CausalLM, type HostTensor } from './lm.ts';

export class MambaLM extends CausalLM {
  declare readonly config: MambaConfig;
  readonly layerOptions: MambaLayerOptions;

  constructor(config: MambaConfig, weights: Map<string, HostTensor>) {
    super(config, weights);
    const d = mambaDims(config);
    this.layerOptions = {
      hiddenSize: d.D, innerSize: d.Di, stateSize: d.N, dtRank: d.R, convKernel: d.W,
      useConvBias: config.use_conv_bias, allowNegEigval: config.allow_neg_eigval,
    };
  }

  protected embedTokens(tokens: tf.Tensor2D): tf.Tensor3D {
    return embed(tokens, param(this.params, 'backbone.embeddings.weight'));
  }

  protected headParts(h: tf.Tensor3D) {
    const W = this.config.tie_word_embeddings ? 'backbone.embeddings.weight' : 'lm_head.weight';
    return { input: rmsNorm(h, param(this.params, 'backbone.norm_f.weight'), this.config.layer_norm_epsilon), weight: param(this.params, W) };
  }

  protected blocks(h: tf.Tensor3D, run: { states?: unknown[]; wantState: boolean; collectStats: boolean }) {
    const eps = this.config.layer_norm_epsilon;
    const states: MambaLayerState[] = [];
    const stats: tf.Tensor1D[] = [];
    for (let i = 0; i < this.config.num_hidden_layers; ++i) {
      const p = `backbone.layers.${i}.`;
      const r = mambaMixer(this.params, p + 'mixer.', this.layerOptions, rmsNorm(h, param(this.params, p + 'norm.weight'), eps), {
        ...(run.states ? { state: run.states[i] as MambaLayerState } : {}),
        wantState: run.wantState,
        collectStats: run.collectStats,
      });
      h = tf.add(h, r.y) as tf.Tensor3D;
      if (r.state) states.push(r.state);
      if (r.stats) stats.push(r.stats);
    }
    return { h, ...(run.wantState ? { states } : {}), ...(run.collectStats ? { stats } : {}) };
  }
}
