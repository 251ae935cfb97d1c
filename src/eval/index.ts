// Evaluation API: the shared perplexity / bits-per-byte evaluator (lrnn eval and the trainer's periodic
// evaluation), evaluation data streams, result files, and the run comparison behind lrnn compare.
export {
  evaluatePerplexity, evaluatePerplexityAsync, PerplexityMeter, makeWindows, batchRowsAsWindows, summarize,
  type LogitModel, type EvalWindow, type PerplexityOptions, type PerplexityResult, type BucketResult,
} from './perplexity.ts';
export { evaluateStreams, resolveCheckpointDir, trainerFacts, type StreamEvalOptions } from './evaluate.ts';
export { preparedSplitStream, userFileStream, type SplitStream } from './splits.ts';
export { evalTable, readEvalResult, writeEvalResult, resultJson, type EvalResultFile, type SplitResult } from './results.ts';
export { readRun, readRunMetrics, RunError, type RunData } from './runs.ts';
export { summarizeRun, compareRows, comparePlots, writeComparison, quantile, type RunSummary } from './compare.ts';
export { lineChart, type Series, type ChartOptions } from './plot_svg.ts';
export { evaluateValidation, type ValidationData, type ValidationSplit, type PackedBatch } from './validation.ts';
