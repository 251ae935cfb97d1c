// Evaluation throughput (tokens/s of evaluatePerplexity, the code behind `lrnn eval`, the closing table and
// the trainer's validation) on the `default` recipe's model at one BLAS thread, random weights and synthetic
// tokens: the streamed path (CausalLM.tokenLosses: the LM head + cross-entropy per chunk of tokens, no logits)
// against the reference path (forward() logits [B·T, V] + softmaxCrossEntropy), interleaved, with the ratio
// and the largest relative difference of the summed NLL between them.
// Run: npm run bench -- --only eval.
import * as tf from '@tensorflow/tfjs-core';
import type { Bench, BenchResult } from '../testing/bench_harness.ts';
import { initBackend } from '../backend/index.ts';
import { loadConfig } from '../config/load.ts';
import { initModel, modelConfigFromRecipe } from '../models/index.ts';
import { type LogitModel, evaluatePerplexity, makeWindows } from './perplexity.ts';

async function evalBench(recipe: string): Promise<BenchResult[]> {
  await initBackend({ blasThreads: 1 });
  const cfg = loadConfig(recipe).config;
  const mc = modelConfigFromRecipe(cfg.model, 8192);
  const model = initModel(mc, 1);
  const T = cfg.data.seq_len, batchSize = 8, batches = 8;
  const stream = new Int32Array(batches * batchSize * T + 1);
  for (let i = 0; i < stream.length; ++i) stream[i] = ((i * 2654435761) >>> 0) % mc.vocab_size;
  const logitsOnly: LogitModel = { config: mc, forward: (t) => model.forward(t) };
  const run = (m: LogitModel) => {
    const t0 = performance.now();
    const r = evaluatePerplexity(m, makeWindows(stream, T), { batchSize });
    return { ms: performance.now() - t0, nll: r.nll, tokens: r.tokens };
  };
  run(model); // warm-up: kernels, buffers
  const streamed: number[] = [], logits: number[] = [];
  let maxRel = 0, tokens = 0;
  for (let rep = 0; rep < 3; ++rep) {
    const a = run(model), b = run(logitsOnly);
    streamed.push(a.ms);
    logits.push(b.ms);
    maxRel = Math.max(maxRel, Math.abs(a.nll - b.nll) / Math.abs(b.nll));
    tokens = a.tokens;
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const tps = (ms: number) => +(tokens / (ms / 1000)).toFixed(1);
  const common = { params: model.numParameters(), windows: `${batches}x${batchSize}x${T}`, backend: tf.getBackend() };
  model.dispose();
  return [
    { name: `eval.${recipe}`, value: tps(median(streamed)), unit: 'tokens/s', path: 'tokenLosses (streamed head + cross-entropy)', ...common,
      speedup_vs_logits: +(median(logits) / median(streamed)).toFixed(2), nll_max_rel_diff: +maxRel.toExponential(2) },
    { name: `eval.${recipe}.logits`, value: tps(median(logits)), unit: 'tokens/s', path: 'forward() logits + softmaxCrossEntropy', ...common },
  ];
}

export const benches: Bench[] = [{ name: 'eval.default', run: () => evalBench('default') }];
