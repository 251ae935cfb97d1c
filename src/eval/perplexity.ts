// Token-level perplexity and bits-per-byte over evaluation windows, the one evaluator behind `lrnn eval`
// and the trainer's periodic evaluation (fla's evaluator: fixed windows, summed cross-entropy,
// ppl = exp(nll / tokens), plus perplexity per position bucket).
//
// A token stream is cut into windows of at most seqLen+1 tokens (seqLen inputs predicting seqLen targets).
// Non-overlapping windows (stride = seqLen) score every target exactly once, each window starting from the
// zero state; a smaller stride slides the window and scores only the targets the previous window did not
// (Hugging Face's strided perplexity), so late targets see up to seqLen tokens of context.
// Bits per byte = total NLL (nats) / ln 2 / UTF-8 bytes of the scored targets, with each token's byte
// count from its vocabulary string (docs/checkpoint-format.md §10.3; special tokens count 0 bytes).
// Test: node scripts/test.mjs src/eval/perplexity
// B windows per batch, T window length (inputs), V vocab.
import * as tf from '@tensorflow/tfjs-core';
import { softmaxCrossEntropy } from '../kernels/cross_entropy/index.ts';

/**
 * What the evaluator needs from a model: logits [B,T,V] for int32 token ids [B,T], or better, each
 * position's next-token NLL directly. CausalLM fits.
 */
export interface LogitModel {
  forward(tokens: tf.Tensor2D): tf.Tensor3D;
  /**
   * When present, used instead of forward(): next-token NLL [B·T] (row-major) for tokens [B,T+1], equal to
   * softmaxCrossEntropy of forward()'s logits up to float32 rounding. CausalLM's streams the LM head and
   * the loss over chunks of tokens, never holding the [B·T, V] logits (most of the time of an evaluation
   * through forward() went to those logits and their cross-entropy).
   */
  tokenLosses?(tokens: tf.Tensor2D): tf.Tensor1D;
  /** When present, token ids are checked against vocab_size before the forward pass. */
  readonly config?: { readonly vocab_size: number };
}

/** One evaluation window: tokens[0..n-1] are inputs, tokens[1..n] targets; targets j ≥ scoreFrom count. */
export interface EvalWindow {
  tokens: Int32Array;
  /** Index (into the targets) of the first target that is scored; earlier targets are context only. */
  scoreFrom: number;
}

export interface PerplexityOptions {
  /** Windows per forward pass (default 8). Windows of different lengths go in separate batches. */
  batchSize?: number;
  /**
   * Upper bounds (exclusive) of the position buckets, by the target's index in its window (= context
   * tokens − 1). Default [128]: targets 0–127 and 128+.
   */
  buckets?: number[];
  /** UTF-8 bytes a token id stands for (tokenizer.tokenByteLength); without it bpb is null. */
  tokenBytes?: (id: number) => number;
  /** Called after each batch with the targets scored so far. */
  onProgress?: (scored: number) => void;
}

export interface BucketResult {
  /** First target index of the bucket (inclusive). */
  from: number;
  /** End target index (exclusive); null for the open last bucket. */
  to: number | null;
  tokens: number;
  /** Mean NLL in nats (NaN when the bucket is empty). */
  loss: number;
  ppl: number;
}

export interface PerplexityResult {
  /** Targets scored. */
  tokens: number;
  /** Summed NLL in nats. */
  nll: number;
  /** Mean NLL in nats per token. */
  loss: number;
  ppl: number;
  /** UTF-8 bytes of the scored targets; null without tokenBytes. */
  bytes: number | null;
  /** nll / ln 2 / bytes; null when bytes is unknown or 0. */
  bpb: number | null;
  windows: number;
  buckets: BucketResult[];
}

/** Mean loss, perplexity and bits per byte from totals. */
export function summarize(nll: number, tokens: number, bytes: number | null): { loss: number; ppl: number; bpb: number | null } {
  const loss = tokens > 0 ? nll / tokens : NaN;
  return { loss, ppl: Math.exp(loss), bpb: bytes !== null && bytes > 0 ? nll / Math.LN2 / bytes : null };
}

/**
 * Cuts a token stream into evaluation windows of at most seqLen+1 tokens starting every `stride` tokens
 * (default seqLen: non-overlapping targets). Every stream position after the first is scored exactly once.
 * `maxTargets` stops after that many scored targets (the last window is shortened).
 */
export function* makeWindows(stream: Int32Array, seqLen: number, stride = seqLen, maxTargets = Infinity): Generator<EvalWindow> {
  if (!Number.isInteger(seqLen) || seqLen < 1) throw new Error(`makeWindows: seqLen must be a positive integer, got ${seqLen}`);
  if (!Number.isInteger(stride) || stride < 1 || stride > seqLen) throw new Error(`makeWindows: stride must be an integer in [1, seqLen=${seqLen}], got ${stride}`);
  const n = Math.min(stream.length, maxTargets === Infinity ? Infinity : maxTargets + 1);
  if (n < 2) return;
  let scoredEnd = 1; // stream positions [1, scoredEnd) have been scored
  for (let b = 0; ; b += stride) {
    const e = Math.min(b + seqLen + 1, n);
    if (e > scoredEnd) {
      yield { tokens: stream.subarray(b, e), scoreFrom: scoredEnd - (b + 1) };
      scoredEnd = e;
    }
    if (e >= n) return;
  }
}

/**
 * Next-token NLL [B·T] for B windows of T+1 tokens (row-major in `rows`): the model's tokenLosses when it
 * has one, else softmaxCrossEntropy of its logits (the reference the fast path is tested against).
 */
export function tokenLosses(model: LogitModel, rows: Int32Array, B: number, T: number): Float32Array {
  const losses = tf.tidy(() => {
    const tokens = tf.tensor2d(rows, [B, T + 1], 'int32');
    if (model.tokenLosses) {
      const l = model.tokenLosses(tokens);
      if (l.rank !== 1 || l.shape[0] !== B * T) throw new Error(`evaluatePerplexity: the model returned token losses [${l.shape}] for tokens [${B},${T + 1}]`);
      return l;
    }
    const logits = model.forward(tf.slice(tokens, [0, 0], [B, T]));
    if (logits.rank !== 3 || logits.shape[0] !== B || logits.shape[1] !== T) throw new Error(`evaluatePerplexity: the model returned logits [${logits.shape}] for tokens [${B},${T}]`);
    const V = logits.shape[2];
    return softmaxCrossEntropy(tf.reshape(logits, [B * T, V]) as tf.Tensor2D, tf.reshape(tf.slice(tokens, [0, 1], [B, T]), [-1]) as tf.Tensor1D);
  });
  const l = losses.dataSync() as Float32Array;
  losses.dispose();
  return l;
}

/** Which bucket target index j falls in. */
function bucketOf(j: number, bounds: number[]): number {
  let k = 0;
  while (k < bounds.length && j >= bounds[k]!) ++k;
  return k;
}

/**
 * Accumulates scored windows: summed next-token NLL (float64), bytes and per-bucket sums. Feed windows with
 * push(), read the totals with result(). Windows of equal length are batched (batchSize per forward pass).
 */
export class PerplexityMeter {
  private readonly batchSize: number;
  private readonly bounds: number[];
  private readonly bNll: Float64Array;
  private readonly bTok: Float64Array;
  private nll = 0;
  private tokens = 0;
  private bytes = 0;
  private nWindows = 0;
  private pending: EvalWindow[] = [];

  constructor(private readonly model: LogitModel, private readonly opts: PerplexityOptions = {}) {
    this.batchSize = opts.batchSize ?? 8;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new Error(`evaluatePerplexity: batchSize must be a positive integer, got ${this.batchSize}`);
    const bounds = (this.bounds = opts.buckets ?? [128]);
    for (let i = 0; i < bounds.length; ++i) {
      if (!Number.isInteger(bounds[i]) || bounds[i]! < 1 || (i > 0 && bounds[i]! <= bounds[i - 1]!)) throw new Error(`evaluatePerplexity: buckets must be increasing positive integers, got [${bounds}]`);
    }
    this.bNll = new Float64Array(bounds.length + 1);
    this.bTok = new Float64Array(bounds.length + 1);
  }

  push(w: EvalWindow): void {
    const n = w.tokens.length;
    const idx = this.nWindows + this.pending.length;
    if (n < 2) throw new Error(`evaluatePerplexity: window ${idx} has ${n} tokens (needs ≥ 2)`);
    if (!Number.isInteger(w.scoreFrom) || w.scoreFrom < 0 || w.scoreFrom >= n - 1) throw new Error(`evaluatePerplexity: window ${idx}: scoreFrom ${w.scoreFrom} outside [0, ${n - 2}]`);
    const vocab = this.model.config?.vocab_size;
    if (vocab !== undefined) {
      for (let i = 0; i < n; ++i) {
        const id = w.tokens[i]!;
        if (id < 0 || id >= vocab) throw new Error(`evaluatePerplexity: window ${idx}: token id ${id} at position ${i} is outside the model's vocabulary [0, ${vocab}) — was the data tokenised with another tokenizer?`);
      }
    }
    if (this.pending.length > 0 && this.pending[0]!.tokens.length !== n) this.flush();
    this.pending.push(w);
    if (this.pending.length === this.batchSize) this.flush();
  }

  private flush(): void {
    const pending = this.pending;
    if (pending.length === 0) return;
    const B = pending.length, T = pending[0]!.tokens.length - 1;
    // Row r holds window r's T+1 tokens: inputs at [r·(T+1), r·(T+1)+T), target j at r·(T+1)+j+1.
    const rows = new Int32Array(B * (T + 1));
    pending.forEach((w, r) => rows.set(w.tokens, r * (T + 1)));
    const l = tokenLosses(this.model, rows, B, T);
    const tokenBytes = this.opts.tokenBytes;
    pending.forEach((w, r) => {
      for (let j = w.scoreFrom; j < T; ++j) {
        const x = l[r * T + j]!;
        this.nll += x;
        const k = bucketOf(j, this.bounds);
        this.bNll[k] += x;
        this.bTok[k] += 1;
        if (tokenBytes) this.bytes += tokenBytes(rows[r * (T + 1) + j + 1]!);
      }
      this.tokens += T - w.scoreFrom;
    });
    this.nWindows += B;
    this.pending = [];
    this.opts.onProgress?.(this.tokens);
  }

  /** Scores what is pending and returns the totals. */
  result(): PerplexityResult {
    this.flush();
    const bounds = this.bounds;
    const byteCount = this.opts.tokenBytes ? this.bytes : null;
    const buckets: BucketResult[] = [];
    for (let k = 0; k <= bounds.length; ++k) {
      const loss = this.bTok[k]! > 0 ? this.bNll[k]! / this.bTok[k]! : NaN;
      buckets.push({ from: k === 0 ? 0 : bounds[k - 1]!, to: k < bounds.length ? bounds[k]! : null, tokens: this.bTok[k]!, loss, ppl: Math.exp(loss) });
    }
    return { tokens: this.tokens, nll: this.nll, ...summarize(this.nll, this.tokens, byteCount), bytes: byteCount, windows: this.nWindows, buckets };
  }
}

/**
 * Scores windows with the model: summed next-token NLL, perplexity, bits per byte and perplexity per
 * position bucket. Deterministic for a given model, windows and batch size.
 */
export function evaluatePerplexity(model: LogitModel, windows: Iterable<EvalWindow>, opts: PerplexityOptions = {}): PerplexityResult {
  const m = new PerplexityMeter(model, opts);
  for (const w of windows) m.push(w);
  return m.result();
}

/** evaluatePerplexity over an async source of windows (e.g. a data stream). */
export async function evaluatePerplexityAsync(model: LogitModel, windows: AsyncIterable<EvalWindow> | Iterable<EvalWindow>, opts: PerplexityOptions = {}): Promise<PerplexityResult> {
  const m = new PerplexityMeter(model, opts);
  for await (const w of windows) m.push(w);
  return m.result();
}

/**
 * Rows of packed [rows, T+1] token batches (the trainer's validation batches) as windows that score every
 * target of every row.
 */
export function* batchRowsAsWindows(batches: Iterable<{ tokens: Int32Array; rows: number; width: number }>): Generator<EvalWindow> {
  for (const b of batches) {
    if (b.tokens.length !== b.rows * b.width) throw new Error(`batchRowsAsWindows: ${b.tokens.length} tokens for [${b.rows}, ${b.width}]`);
    for (let r = 0; r < b.rows; ++r) yield { tokens: b.tokens.subarray(r * b.width, (r + 1) * b.width), scoreFrom: 0 };
  }
}
