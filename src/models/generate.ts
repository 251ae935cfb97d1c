// Autoregressive sampling with O(1) memory in the generated length: the prompt runs in parallel chunks of
// `prefillChunk` tokens (prefill; chunks bound memory, since a step's logits are T × V floats: a 100k-token
// prompt at once would need GBs), then each new token is one recurrent step that carries the per-layer conv
// tails and states.
// Temperature 0 is greedy; top-k keeps the k most likely tokens; the seed makes sampling reproducible.
import * as tf from '@tensorflow/tfjs-core';
import { seededUniform } from './init.ts';
import { type CausalLM, type DecodeState, disposeState } from './lm.ts';

export interface GenerateOptions {
  maxNewTokens: number;
  /** Softmax temperature; 0 means greedy (argmax). Default 1. */
  temperature?: number;
  /** Sample only among the k most likely tokens; 0 or undefined means all. */
  topK?: number;
  seed?: number;
  /** Stop after emitting this id (it is included in the output). */
  stopTokenId?: number | null;
  /** Called with each new token id as soon as it is chosen (for streaming). */
  onToken?: (id: number) => void;
  /** Prompt tokens per prefill step (default 256); the result does not depend on it. */
  prefillChunk?: number;
}

/** Picks the next id from one row of logits. */
export function sampleToken(logits: Float32Array, temperature: number, topK: number, rand: () => number): number {
  const V = logits.length;
  if (temperature <= 0) {
    let best = 0;
    for (let i = 1; i < V; ++i) if (logits[i]! > logits[best]!) best = i;
    return best;
  }
  let ids = Array.from({ length: V }, (_, i) => i);
  if (topK > 0 && topK < V) ids = ids.sort((a, b) => logits[b]! - logits[a]!).slice(0, topK);
  let max = -Infinity;
  for (const i of ids) max = Math.max(max, logits[i]!);
  const w = ids.map((i) => Math.exp((logits[i]! - max) / temperature));
  const total = w.reduce((a, b) => a + b, 0);
  let r = rand() * total;
  for (let j = 0; j < ids.length; ++j) {
    r -= w[j]!;
    if (r < 0) return ids[j]!;
  }
  return ids[ids.length - 1]!;
}

/** Generates up to maxNewTokens after `prompt` (≥ 1 id); returns the new ids. Batch of one sequence. */
export function generate(model: CausalLM, prompt: number[], opts: GenerateOptions): number[] {
  if (prompt.length === 0) throw new Error('generate: the prompt must hold at least one token');
  const V = model.config.vocab_size;
  for (const id of prompt) if (!Number.isInteger(id) || id < 0 || id >= V) throw new Error(`generate: prompt token ${id} is outside the vocabulary [0, ${V})`);
  const temperature = opts.temperature ?? 1;
  const topK = opts.topK ?? 0;
  const rand = seededUniform(opts.seed ?? 0);
  const out: number[] = [];
  const chunk = Math.max(1, opts.prefillChunk ?? 256);
  let state: DecodeState | null = null;
  let logits: tf.Tensor3D | null = null;
  // One recurrent step over `ids`; keeps only the new state and this step's logits.
  const advance = (ids: number[]) => {
    const input = tf.tensor2d(ids, [1, ids.length], 'int32');
    try {
      const r: { logits: tf.Tensor3D; state: DecodeState } = model.step(input, state);
      disposeState(state);
      logits?.dispose();
      state = r.state;
      logits = r.logits;
    } finally {
      input.dispose();
    }
  };
  try {
    if (opts.maxNewTokens <= 0) return out;
    for (let i = 0; i < prompt.length; i += chunk) advance(prompt.slice(i, i + chunk));
    for (;;) {
      const lg: tf.Tensor3D = logits!;
      const T = lg.shape[1];
      const last = tf.tidy(() => tf.slice(lg, [0, T - 1, 0], [1, 1, V]).dataSync() as Float32Array);
      const id = sampleToken(last, temperature, topK, rand);
      out.push(id);
      opts.onToken?.(id);
      if ((opts.stopTokenId != null && id === opts.stopTokenId) || out.length >= opts.maxNewTokens) break;
      advance([id]);
    }
  } finally {
    (logits as tf.Tensor3D | null)?.dispose();
    disposeState(state);
  }
  return out;
}
