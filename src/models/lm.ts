// The causal LM shared by DeltaNet and Mamba: embedding → blocks → final RMSNorm → LM head, with the
// parameters in one flat Map keyed by the reference tensor names (PyTorch layouts), the next-token loss
// (the LM head and cross-entropy fused, streamed over chunks of tokens: the B·T × V logits are never held),
// optional per-layer eigenvalue telemetry, and per-layer decoding state for O(1)-memory generation.
// B batch, T time, D width, V vocab.
import * as tf from '@tensorflow/tfjs-core';
import { linearCrossEntropy, linearCrossEntropyRows } from '../kernels/cross_entropy/linear.ts';
import { linear } from '../layers/linear.ts';
import type { Params } from '../layers/params.ts';
import { type ModelConfig, paramSpecs } from './config.ts';

/** Per-layer telemetry: DeltaNet β (fracOut = share of β > 1), Mamba Ā (fracOut = share of Ā < 0). */
export interface LayerStats {
  layer: number;
  quantity: 'beta' | 'abar';
  fracOut: number;
  min: number;
  max: number;
}

/** Opaque per-layer decoding state (conv tails + recurrent state), owned by the caller: dispose it. */
export interface DecodeState {
  layers: unknown[];
}

export interface ForwardOptions {
  /** Record per-layer β / Ā statistics into `model.lastStats` (one small device read per call). */
  collectStats?: boolean;
}

/** Host copy of one parameter, as read from or written to model.safetensors. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

export abstract class CausalLM {
  readonly config: ModelConfig;
  /** Trainable parameters keyed by the exact stored tensor names (lm_head absent when tied). */
  readonly params: Params = new Map();
  /** Set by forward/loss when collectStats is on. */
  lastStats: LayerStats[] = [];

  constructor(config: ModelConfig, weights: Map<string, HostTensor>) {
    this.config = config;
    for (const spec of paramSpecs(config)) {
      const w = weights.get(spec.name);
      if (!w) throw new Error(`missing tensor '${spec.name}'`);
      if (w.shape.length !== spec.shape.length || w.shape.some((d, i) => d !== spec.shape[i])) {
        throw new Error(`tensor '${spec.name}': shape [${w.shape}] but the config needs [${spec.shape}]`);
      }
      // The variable shares the tensor's storage; dispose the wrapper so it is not counted as a live tensor.
      const t = tf.tensor(w.data, spec.shape, 'float32');
      this.params.set(spec.name, tf.variable(t, true));
      t.dispose();
    }
  }

  /** Runs the blocks on h [B,T,D] and returns the final hidden states [B,T,D] (before the final norm). */
  protected abstract blocks(h: tf.Tensor3D, run: { states?: unknown[]; wantState: boolean; collectStats: boolean }): {
    h: tf.Tensor3D; states?: unknown[]; stats?: tf.Tensor1D[];
  };
  protected abstract embedTokens(tokens: tf.Tensor2D): tf.Tensor3D;
  /** The LM head's input (the final RMSNorm of h, [B,T,D]) and weight [V,D]: logits = input · weightᵀ. */
  protected abstract headParts(h: tf.Tensor3D): { input: tf.Tensor3D; weight: tf.Tensor2D | tf.Variable };

  /** logits [B,T,V] from the final hidden states h [B,T,D]. */
  protected head(h: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const { input, weight } = this.headParts(h);
      return linear(input, weight) as tf.Tensor3D;
    });
  }

  private run(tokens: tf.Tensor2D, states: unknown[] | undefined, wantState: boolean, collectStats: boolean) {
    if (tokens.dtype !== 'int32') throw new TypeError(`token ids must be int32, got ${tokens.dtype}`);
    if (tokens.rank !== 2) throw new Error(`token ids must be [B,T], got rank ${tokens.rank}`);
    return this.blocks(this.embedTokens(tokens), { ...(states ? { states } : {}), wantState, collectStats });
  }

  private readStats(stats: tf.Tensor1D[] | undefined): void {
    if (!stats) return;
    const q = this.config.model_type === 'delta_net' ? 'beta' : 'abar';
    const all = tf.tidy(() => tf.concat(stats).dataSync());
    this.lastStats = stats.map((_, i) => ({ layer: i, quantity: q, fracOut: all[3 * i]!, min: all[3 * i + 1]!, max: all[3 * i + 2]! }));
  }

  /** logits [B,T,V] for int32 tokens [B,T]; every row starts from the zero state. */
  forward(tokens: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
    return tf.tidy(() => {
      const r = this.run(tokens, undefined, false, !!opts.collectStats);
      this.readStats(r.stats);
      return this.head(r.h);
    });
  }

  /**
   * Mean next-token cross-entropy for tokens [B,T+1]: position t of the first T predicts token t+1.
   * Differentiable w.r.t. the parameters (use with tf.variableGrads). The head and the loss are one streamed
   * op (linearCrossEntropy): equal to softmaxCrossEntropy of forward()'s logits up to float32 rounding.
   */
  loss(tokens: tf.Tensor2D, opts: ForwardOptions = {}): tf.Scalar {
    return tf.tidy(() => {
      const [B, T1] = tokens.shape;
      if (T1 < 2) throw new Error(`loss needs at least 2 tokens per row, got [${tokens.shape}]`);
      const inputs = tf.slice(tokens, [0, 0], [B, T1 - 1]);
      const targets = tf.reshape(tf.slice(tokens, [0, 1], [B, T1 - 1]), [-1]) as tf.Tensor1D;
      const r = this.run(inputs, undefined, false, !!opts.collectStats);
      this.readStats(r.stats);
      const { input, weight } = this.headParts(r.h);
      const D = input.shape[2];
      return linearCrossEntropy(tf.reshape(input, [-1, D]) as tf.Tensor2D, weight, targets, { reduction: 'mean' });
    });
  }

  /**
   * Next-token NLL of every position [B·T] (row-major, position t of row b at b·T + t) for tokens [B,T+1],
   * for evaluation: the loss of forward()'s logits per token up to float32 rounding, from the same streamed
   * head + cross-entropy op as loss() (linearCrossEntropyRows), so the B·T × V logits are never held.
   * Forward only (not differentiable).
   */
  tokenLosses(tokens: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => {
      const [B, T1] = tokens.shape;
      if (T1 < 2) throw new Error(`tokenLosses needs at least 2 tokens per row, got [${tokens.shape}]`);
      const inputs = tf.slice(tokens, [0, 0], [B, T1 - 1]);
      const targets = tf.reshape(tf.slice(tokens, [0, 1], [B, T1 - 1]), [-1]) as tf.Tensor1D;
      const { input, weight } = this.headParts(this.run(inputs, undefined, false, false).h);
      return linearCrossEntropyRows(tf.reshape(input, [-1, input.shape[2]]) as tf.Tensor2D, weight, targets);
    });
  }

  /**
   * Loss and parameter gradients for tokens [B,T+1], the gradients keyed by stored tensor name. The caller
   * disposes the gradient tensors.
   */
  lossAndGrads(tokens: tf.Tensor2D, opts: ForwardOptions = {}): { loss: number; grads: Map<string, tf.Tensor> } {
    const { value, grads } = tf.variableGrads(() => this.loss(tokens, opts), [...this.params.values()]);
    const loss = value.dataSync()[0]!;
    value.dispose();
    const out = new Map<string, tf.Tensor>();
    for (const [name, v] of this.params) out.set(name, grads[v.name]!);
    return { loss, grads: out };
  }

  /**
   * Continues sequences from `state` (null: a fresh start) over tokens [B,T]; returns logits [B,T,V] and the
   * state after the last token. The caller disposes both (disposeState). Memory does not grow with length.
   */
  step(tokens: tf.Tensor2D, state: DecodeState | null): { logits: tf.Tensor3D; state: DecodeState } {
    const r = tf.tidy(() => {
      const o = this.run(tokens, state?.layers, true, false);
      return { logits: this.head(o.h), layers: o.states as unknown as tf.TensorContainer };
    }) as unknown as { logits: tf.Tensor3D; layers: unknown[] };
    return { logits: r.logits, state: { layers: r.layers } };
  }

  /** Host copies of all parameters, keyed by stored name (for model.safetensors). */
  exportWeights(): Map<string, HostTensor> {
    const out = new Map<string, HostTensor>();
    for (const [name, v] of this.params) out.set(name, { shape: [...v.shape], data: new Float32Array(v.dataSync() as Float32Array) });
    return out;
  }

  /** Overwrites the parameters from host tensors (names and shapes must match exactly). */
  loadWeights(weights: Map<string, HostTensor>): void {
    for (const [name, v] of this.params) {
      const w = weights.get(name);
      if (!w) throw new Error(`missing tensor '${name}'`);
      if (w.data.length !== v.size) throw new Error(`tensor '${name}': ${w.data.length} values for shape [${v.shape}]`);
      tf.tidy(() => v.assign(tf.tensor(w.data, v.shape, 'float32')));
    }
  }

  numParameters(): number {
    let n = 0;
    for (const v of this.params.values()) n += v.size;
    return n;
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }
}

/** Disposes every tensor of a decoding state. */
export function disposeState(state: DecodeState | null | undefined): void {
  if (state) tf.dispose(state.layers as unknown as tf.TensorContainer);
}
