// The training data loader: mixes domains by weight, shuffles with a seeded window per domain, shards by
// (rank, worldSize), packs fixed [B, T+1] batches, prefetches ahead (p-queue), reports the time the trainer
// waited, and exposes a JSON cursor that resumes exactly.
//
// How sequences are assigned (identical on every rank, so ranks never overlap and nothing is dropped):
// global slot j (0, 1, 2, …) takes its domain from hash(seed, j) against the weights and then that domain's
// next sequence (in its shuffled order). Global batch n is slots [n·B·W, (n+1)·B·W); rank r keeps slots
// n·B·W + r·B … + B − 1. Every rank walks all slots (reading pre-tokenised shards is cheap), so after each
// global batch all ranks hold the same state, and the cursor is the same on every rank.
// Shuffle: each domain's sequences are taken in windows of `shuffleWindow` consecutive sequences, emitted in
// a seeded permutation of the window; with the per-epoch shard order and hash-ordered documents in the
// shards, that is the shuffle. The cursor stores, per domain, where its current window starts and how far
// into the window it is; resume refills that window.
import PQueue from 'p-queue';
import { loadTokenizer } from '../tokenizer/tokenizer_json.ts';
import type { TextTokenizer } from '../tokenizer/bpe.ts';
import { readManifest, type DatasetManifest } from './manifest.ts';
import { checkShardSizes, shardsOf } from './verify.ts';
import type { Split } from './split.ts';
import { hash32, permutation, TokenStream, type StreamPos } from './token_stream.ts';

export interface LoaderCursor {
  version: 1;
  /** Next global slot. */
  slot: number;
  seed: number;
  seqLen: number;
  domains: Record<string, { window: number; start: StreamPos; index: number }>;
}

export interface TrainStreamOptions {
  /** Dataset folder written by `lrnn prepare` (has manifest.json). */
  dir: string;
  /** Domain → weight (need not sum to 1), e.g. {text: 0.4, code: 0.3, math: 0.3}. Default: all domains, equal weights. */
  domains?: Record<string, number>;
  /** T: tokens per training sequence; each row holds T+1 tokens (inputs = row[0..T), targets = row[1..T]). */
  seqLen: number;
  /** B: sequences per batch on this rank. */
  batchSize: number;
  seed?: number;
  rank?: number;
  worldSize?: number;
  /** Resume from a cursor returned by cursor(). */
  cursor?: LoaderCursor;
  /** Split to stream (default 'train'). */
  split?: Split;
  /** Sequences per shuffle window per domain (default 64; 1 = no shuffle). */
  shuffleWindow?: number;
  /** Batches to prepare ahead (default 4). */
  prefetch?: number;
  /** Tokenise text shards on the fly with this tokenizer (default: read the pre-tokenised shards). */
  tokenizer?: TextTokenizer | string;
  /**
   * The caller has already checked these shards against the manifest (sizes or sha256, as openRunData
   * does for a run), so the loader skips its own size check. Default false: a direct user is always checked.
   */
  verified?: boolean;
}

export interface TrainBatch {
  /** [B·(T+1)] row-major: row b is tokens[b·(T+1) … b·(T+1)+T]. */
  tokens: Int32Array;
  batch: number;
  seqLen: number;
  /** Domain of each row. */
  domains: string[];
}

export interface TrainStream {
  /** The next batch for this rank. */
  next(): Promise<TrainBatch>;
  /** Cursor after the last batch next() returned (the same on every rank); JSON-serialisable. */
  cursor(): LoaderCursor;
  /** Total ms next() spent waiting for data. */
  waitMs(): number;
  /** Vocabulary facts of the dataset's tokenizer. */
  readonly eosId: number;
  readonly vocabSize: number;
  close(): Promise<void>;
}

class DomainWindow {
  buf: Int32Array;
  perm: Int32Array = new Int32Array(0);
  window = -1;
  start: StreamPos = { epoch: 0, shard: 0, row: 0, offset: 0 };
  index = 0;
  constructor(readonly name: string, readonly stream: TokenStream, readonly size: number, readonly rowLen: number, readonly seed: number) {
    this.buf = new Int32Array(size * rowLen);
  }
  /** Loads window w starting at pos, positioned at index. */
  async load(w: number, pos: StreamPos, index: number, continuing = false): Promise<void> {
    // Continuing from the previous window keeps the open shard reader; a resume seeks (re-opens the shard).
    if (!continuing) await this.stream.seek(pos);
    this.start = { ...pos };
    for (let i = 0; i < this.size; ++i) await this.stream.fill(this.buf, i * this.rowLen);
    this.perm = this.size > 1 ? permutation(this.size, hash32(this.seed, this.name, 'window', w)) : Int32Array.of(0);
    this.window = w;
    this.index = index;
  }
  /** The next sequence (a view into the window buffer, valid until the next call). */
  async take(): Promise<Int32Array> {
    if (this.index >= this.size) await this.load(this.window + 1, this.stream.position(), 0, true);
    const i = this.perm[this.index++]!;
    return this.buf.subarray(i * this.rowLen, (i + 1) * this.rowLen);
  }
}

function resolveDataset(dir: string): DatasetManifest {
  const m = readManifest(dir);
  if (!m) throw new Error(`${dir}: no manifest.json — run 'lrnn prepare --out ${dir}' first`);
  return m;
}

/** Opens the training stream. See the file comment for how ranks, shuffle and the cursor work. */
export async function openTrainStream(opts: TrainStreamOptions): Promise<TrainStream> {
  const m = resolveDataset(opts.dir);
  const seed = opts.seed ?? 0;
  const rank = opts.rank ?? 0, world = opts.worldSize ?? 1;
  if (!(Number.isInteger(world) && world >= 1 && Number.isInteger(rank) && rank >= 0 && rank < world)) throw new Error(`loader: rank ${rank} / worldSize ${world} invalid`);
  const T = opts.seqLen, B = opts.batchSize;
  if (!(Number.isInteger(T) && T >= 1 && Number.isInteger(B) && B >= 1)) throw new Error(`loader: seqLen ${T} and batchSize ${B} must be positive integers`);
  const weights = opts.domains ?? Object.fromEntries(Object.keys(m.domains).map((d) => [d, 1]));
  const names = Object.keys(weights).filter((d) => weights[d]! > 0).sort();
  if (names.length === 0) throw new Error('loader: no domain has a positive weight');
  for (const d of names) if (!m.domains[d]) throw new Error(`${opts.dir}: no domain '${d}' (have: ${Object.keys(m.domains).join(', ') || 'none'})`);
  const split = opts.split ?? 'train';
  if (!opts.verified) checkShardSizes(opts.dir, shardsOf(m, names, [split]));
  const total = names.reduce((a, d) => a + weights[d]!, 0);
  const cum = names.map((_, i) => names.slice(0, i + 1).reduce((a, d) => a + weights[d]!, 0) / total);
  let tokenizer: TextTokenizer | undefined;
  if (typeof opts.tokenizer === 'string') tokenizer = loadTokenizer(opts.tokenizer);
  else tokenizer = opts.tokenizer;
  const eosId = tokenizer ? tokenizer.eosId : m.tokenizer?.eosId ?? -1;
  if (eosId < 0) throw new Error(`${opts.dir}: no end-of-text id (no tokenizer in the manifest)`);
  const vocabSize = tokenizer ? tokenizer.vocabSize : m.tokenizer!.vocabSize;
  const win = Math.max(1, opts.shuffleWindow ?? 64);
  if (!tokenizer) {
    for (const d of names) {
      const e = m.domains[d]!.splits[split];
      if (e?.tokenShards && e.tokenizerSha256 !== m.tokenizer?.sha256) throw new Error(`${opts.dir}: domain '${d}' ${split} token shards were made with another tokenizer than ${opts.dir}/tokenizer.json; re-run 'lrnn prepare'`);
    }
  }

  const doms = names.map((d) => new DomainWindow(d, new TokenStream({ dir: opts.dir, domain: d, entry: m.domains[d]!, split, seqLen: T, eosId, seed, ...(tokenizer ? { tokenizer } : {}) }), win, T + 1, seed));
  let slot = 0;
  const c = opts.cursor;
  if (c) {
    if (c.version !== 1 || c.seqLen !== T || c.seed !== seed) throw new Error(`loader: cursor was made with seqLen ${c.seqLen}, seed ${c.seed}; this run uses seqLen ${T}, seed ${seed}`);
    slot = c.slot;
    for (const d of doms) {
      const s = c.domains[d.name];
      if (s) await d.load(s.window, s.start, s.index);
      else await d.load(0, { epoch: 0, shard: 0, row: 0, offset: 0 }, 0);
    }
  } else for (const d of doms) await d.load(0, { epoch: 0, shard: 0, row: 0, offset: 0 }, 0);

  const pick = (j: number): number => {
    if (doms.length === 1) return 0;
    const u = hash32(seed, 'mix', Math.floor(j / 4294967296), j >>> 0) / 4294967296;
    let i = 0;
    while (i < cum.length - 1 && u >= cum[i]!) ++i;
    return i;
  };
  const snapshot = (): LoaderCursor => ({
    version: 1,
    slot,
    seed,
    seqLen: T,
    domains: Object.fromEntries(doms.map((d) => [d.name, { window: d.window, start: { ...d.start }, index: d.index }])),
  });

  const produce = async (): Promise<{ batch: TrainBatch; cursor: LoaderCursor }> => {
    const tokens = new Int32Array(B * (T + 1));
    const rowDomains: string[] = [];
    const mine0 = slot + rank * B;
    for (let k = 0; k < B * world; ++k, ++slot) {
      const d = doms[pick(slot)]!;
      const seq = await d.take();
      if (slot >= mine0 && slot < mine0 + B) {
        tokens.set(seq, (slot - mine0) * (T + 1));
        rowDomains.push(d.name);
      }
    }
    return { batch: { tokens, batch: B, seqLen: T, domains: rowDomains }, cursor: snapshot() };
  };

  const queue = new PQueue({ concurrency: 1 });
  const ahead: { p: Promise<{ batch: TrainBatch; cursor: LoaderCursor }>; done: boolean }[] = [];
  const depth = Math.max(1, opts.prefetch ?? 4);
  let current = snapshot();
  let waited = 0;
  let closed = false;
  const schedule = () => {
    while (ahead.length < depth) {
      const e = { p: queue.add(produce) as Promise<{ batch: TrainBatch; cursor: LoaderCursor }>, done: false };
      e.p.then(() => (e.done = true), () => (e.done = true));
      ahead.push(e);
    }
  };
  return {
    eosId,
    vocabSize,
    async next() {
      if (closed) throw new Error('loader: next() after close()');
      schedule();
      const e = ahead.shift()!;
      const t0 = e.done ? 0 : performance.now();
      const r = await e.p;
      if (t0) waited += performance.now() - t0;
      current = r.cursor;
      schedule();
      return r.batch;
    },
    cursor: () => structuredClone(current),
    waitMs: () => waited,
    async close() {
      closed = true;
      await Promise.allSettled(ahead.map((e) => e.p));
      queue.clear();
      for (const d of doms) await d.stream.seek({ epoch: 0, shard: 0, row: 0, offset: 0 });
    },
  };
}

export interface EvalStreamOptions {
  dir: string;
  domain: string;
  /** Default 'validation'. */
  split?: Split;
  seqLen: number;
  rank?: number;
  worldSize?: number;
  tokenizer?: TextTokenizer | string;
  /** Stop after this many windows (all ranks together). */
  maxWindows?: number;
  /** As TrainStreamOptions.verified: the caller has checked the split's shards, so the loader does not re-stat them. */
  verified?: boolean;
}

/**
 * Fixed evaluation windows of one split, in manifest order, no shuffle, one pass: window i holds tokens
 * [i·T, i·T+T] of the split's documents joined with end-of-text (the last window may be shorter, ≥ 2 tokens).
 * Window i goes to rank i mod worldSize. Predict tokens[1..] from tokens[..-1] for perplexity.
 */
export async function* openEvalStream(opts: EvalStreamOptions): AsyncGenerator<{ tokens: Int32Array; index: number }> {
  const m = resolveDataset(opts.dir);
  const entry = m.domains[opts.domain];
  if (!entry) throw new Error(`${opts.dir}: no domain '${opts.domain}' (have: ${Object.keys(m.domains).join(', ')})`);
  if (!opts.verified) checkShardSizes(opts.dir, shardsOf(m, [opts.domain], [opts.split ?? 'validation']));
  const tokenizer = typeof opts.tokenizer === 'string' ? loadTokenizer(opts.tokenizer) : opts.tokenizer;
  const eosId = tokenizer ? tokenizer.eosId : m.tokenizer?.eosId ?? -1;
  const T = opts.seqLen;
  const rank = opts.rank ?? 0, world = opts.worldSize ?? 1;
  const stream = new TokenStream({ dir: opts.dir, domain: opts.domain, entry, split: opts.split ?? 'validation', seqLen: T, eosId, seed: 0, shuffleShards: false, oneEpoch: true, ...(tokenizer ? { tokenizer } : {}) });
  const buf = new Int32Array(T + 1);
  for (let i = 0; opts.maxWindows === undefined || i < opts.maxWindows; ++i) {
    const full = await stream.fill(buf);
    const n = stream.lastLength;
    if (n < 2) return;
    if (i % world === rank) yield { tokens: buf.slice(0, n), index: i };
    if (!full) return;
  }
}

