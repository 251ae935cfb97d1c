// What the trainer reads: a stream of [B, T+1] token batches with a serialisable cursor, and fixed
// validation batches per split. The streaming loader (src/data) plugs in through these
// interfaces (see data.ts); `TokenArraySource` is the in-memory implementation the tests and synthetic
// runs use. B batch, T sequence length (the model sees T inputs and T targets per row).

/** trainer_state.json["data_cursor"] (docs/checkpoint-format.md §11); loaders MAY add fields. */
export interface DataCursor {
  source: string;
  epoch: number;
  /** Index, in tokens, of the next unread token of this epoch's stream order. */
  offset: number;
  order_seed: number | null;
  [k: string]: unknown;
}

export interface TokenBatch {
  /** Row-major [rows, seqLen + 1] token ids. */
  tokens: Int32Array;
  rows: number;
  /** T + 1. */
  width: number;
}

/** The training stream. `next` may prefetch; `cursor()` describes the position after the last batch returned. */
export interface BatchSource {
  next(): Promise<TokenBatch>;
  cursor(): DataCursor;
  close?(): Promise<void> | void;
}

/** Validation data: a bounded, fixed list of batches per split (the same every evaluation). */
export interface EvalData {
  splits(): string[];
  batches(split: string, maxBatches: number): AsyncIterable<TokenBatch> | Iterable<TokenBatch>;
  /** UTF-8 bytes per token of the split, for bits per byte; undefined when unknown. */
  bytesPerToken?(split: string): number | undefined;
}

/**
 * Sequential windows over one flat token stream: row r of a batch is tokens [o, o + T + 1) with o advancing
 * by T per row (each target becomes the next row's first input, as packed LM training does). Wraps to the
 * start at the end of the stream, counting epochs. Deterministic, so resume == uninterrupted.
 */
export class TokenArraySource implements BatchSource {
  private offset: number;
  private epoch: number;

  constructor(private readonly stream: Int32Array, private readonly rows: number, private readonly seqLen: number,
    private readonly name = 'memory', cursor?: DataCursor) {
    if (stream.length < seqLen + 1) throw new Error(`${name}: ${stream.length} tokens, a sequence needs ${seqLen + 1}`);
    this.offset = cursor?.offset ?? 0;
    this.epoch = cursor?.epoch ?? 0;
  }

  async next(): Promise<TokenBatch> {
    const W = this.seqLen + 1;
    const out = new Int32Array(this.rows * W);
    for (let r = 0; r < this.rows; ++r) {
      if (this.offset + W > this.stream.length) {
        this.offset = 0;
        this.epoch += 1;
      }
      out.set(this.stream.subarray(this.offset, this.offset + W), r * W);
      this.offset += this.seqLen;
    }
    return { tokens: out, rows: this.rows, width: W };
  }

  cursor(): DataCursor {
    return { source: this.name, epoch: this.epoch, offset: this.offset, order_seed: null };
  }
}

/** Validation batches cut from in-memory token streams per split. */
export class TokenArrayEvalData implements EvalData {
  constructor(private readonly data: Record<string, Int32Array>, private readonly rows: number, private readonly seqLen: number,
    private readonly bpt: Record<string, number> = {}) {}

  splits(): string[] {
    return Object.keys(this.data);
  }

  *batches(split: string, maxBatches: number): Iterable<TokenBatch> {
    const s = this.data[split];
    if (!s) throw new Error(`no validation data for split '${split}' (have: ${this.splits().join(', ')})`);
    const W = this.seqLen + 1;
    const perBatch = this.rows * this.seqLen;
    for (let b = 0; b < maxBatches && (b + 1) * perBatch + 1 <= s.length; ++b) {
      const out = new Int32Array(this.rows * W);
      for (let r = 0; r < this.rows; ++r) out.set(s.subarray(b * perBatch + r * this.seqLen, b * perBatch + r * this.seqLen + W), r * W);
      yield { tokens: out, rows: this.rows, width: W };
    }
  }

  bytesPerToken(split: string): number | undefined {
    return this.bpt[split];
  }
}
