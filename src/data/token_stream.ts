// One domain's endless stream of training sequences: documents (from token shards, or text shards tokenised
// on the fly) joined with end-of-text, cut into sequences of T+1 tokens with stride T (the last token of one
// sequence is the first of the next, so every token is a target exactly once), epoch after epoch with a
// seeded shard order per epoch. Its position (epoch, shard, row, offset) at a sequence start is enough to
// resume exactly.
import { mulberry32 } from '../util/rng.ts';
import path from 'node:path';
import type { TextTokenizer } from '../tokenizer/bpe.ts';
import type { DomainEntry } from './manifest.ts';
import { readTextShard, readTokenShard, type ShardInfo, type TokenArray } from './shards.ts';
import type { Split } from './split.ts';

/** Where a sequence starts: shard `shard` of epoch `epoch`'s shard order, document `row`, token `offset` (offset = doc length means its end-of-text). */
export interface StreamPos {
  epoch: number;
  shard: number;
  row: number;
  offset: number;
}

/** 32-bit hash of numbers/strings (FNV-1a over their parts, then a murmur finaliser). */
export function hash32(...parts: (number | string)[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    const s = typeof p === 'number' ? `${p}` : p;
    for (let i = 0; i < s.length; ++i) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 0x2c, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The data order's generator (mulberry32). */
export const prng = mulberry32;

/** A seeded permutation of 0..n-1 (Fisher–Yates). */
export function permutation(n: number, seed: number): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  const r = prng(seed);
  for (let i = n - 1; i > 0; --i) {
    const j = Math.floor(r() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

export interface TokenStreamOptions {
  dir: string;
  domain: string;
  entry: DomainEntry;
  split: Split;
  seqLen: number;
  eosId: number;
  seed: number;
  /** Tokenise text shards on the fly with this tokenizer instead of reading token shards. */
  tokenizer?: TextTokenizer;
  /** Shuffle the shard order each epoch (default true); false reads shards in manifest order. */
  shuffleShards?: boolean;
  /** Stop after one epoch (eval): fill() then returns false. */
  oneEpoch?: boolean;
}

// Documents are views in the shard's stored id type (uint16/uint32/int32); fill() widens them into the
// Int32Array batch with TypedArray.set, so nothing is copied into int32 first.
type DocIter = AsyncGenerator<{ doc: TokenArray; row: number }>;

export class TokenStream {
  private readonly shards: ShardInfo[];
  private readonly onTheFly: boolean;
  private pos: StreamPos = { epoch: 0, shard: 0, row: 0, offset: 0 };
  private iter: DocIter | null = null;
  private doc: TokenArray | null = null;
  private order: Int32Array;
  private orderEpoch = -1;
  private ended = false;

  constructor(private readonly o: TokenStreamOptions) {
    const e = o.entry.splits[o.split];
    if (!e) throw new Error(`${o.dir}: domain '${o.domain}' has no '${o.split}' split`);
    this.onTheFly = !!o.tokenizer || !e.tokenShards || e.tokenShards.length !== e.shards.length;
    if (this.onTheFly && !o.tokenizer) throw new Error(`${o.dir}: domain '${o.domain}' ${o.split} has no token shards; pass a tokenizer to tokenise on the fly or re-run 'lrnn prepare'`);
    this.shards = this.onTheFly ? e.shards : e.tokenShards!;
    if (this.shards.length === 0 || e.rows === 0) throw new Error(`${o.dir}: domain '${o.domain}' split '${o.split}' is empty`);
    this.order = new Int32Array(0);
  }

  private shardOrder(epoch: number): Int32Array {
    if (epoch !== this.orderEpoch) {
      this.order = this.o.shuffleShards === false ? Int32Array.from(this.shards, (_, i) => i) : permutation(this.shards.length, hash32(this.o.seed, this.o.domain, 'epoch', epoch));
      this.orderEpoch = epoch;
    }
    return this.order;
  }

  private async *docs(shardIdx: number, fromRow: number): DocIter {
    const sh = this.shards[shardIdx]!;
    const file = path.join(this.o.dir, sh.file);
    if (this.onTheFly) {
      for await (const r of readTextShard(file, { expectRows: sh.rows })) if (r.row >= fromRow) yield { doc: this.o.tokenizer!.encodeOrdinary(r.text), row: r.row };
      return;
    }
    for await (const b of readTokenShard(file, { expectRows: sh.rows })) {
      if (b.firstRow + b.rows <= fromRow) continue;
      for (let i = Math.max(0, fromRow - b.firstRow); i < b.rows; ++i) yield { doc: b.values.subarray(b.offsets[i]!, b.offsets[i + 1]!), row: b.firstRow + i };
    }
  }

  /** Moves to a position (a sequence start); the next fill() starts there. */
  async seek(pos: StreamPos): Promise<void> {
    await this.iter?.return(undefined);
    this.pos = { ...pos };
    this.iter = null;
    this.doc = null;
    this.ended = false;
  }

  position(): StreamPos {
    return { ...this.pos };
  }

  /** Ensures this.doc holds the document containing pos (pos.offset ≤ doc.length). False at the end of a one-epoch stream. */
  private async ensureDoc(): Promise<boolean> {
    for (;;) {
      if (this.doc && this.pos.offset <= this.doc.length) return true;
      if (this.doc) {
        // Past this document's end-of-text: the next document.
        this.pos.row++;
        this.pos.offset = 0;
        this.doc = null;
      }
      if (!this.iter) {
        const order = this.shardOrder(this.pos.epoch);
        this.iter = this.docs(order[this.pos.shard]!, this.pos.row);
      }
      const r = await this.iter.next();
      if (!r.done) {
        if (r.value.row !== this.pos.row) throw new Error(`internal: token stream expected row ${this.pos.row}, got ${r.value.row}`);
        this.doc = r.value.doc;
        continue;
      }
      this.iter = null;
      const sh = this.shards[this.shardOrder(this.pos.epoch)[this.pos.shard]!]!;
      if (this.pos.row < sh.rows) throw new Error(`${path.join(this.o.dir, sh.file)}: row ${this.pos.row} is past the shard's end`);
      this.pos.shard++;
      this.pos.row = 0;
      this.pos.offset = 0;
      if (this.pos.shard >= this.shards.length) {
        if (this.o.oneEpoch) {
          this.ended = true;
          return false;
        }
        this.pos.epoch++;
        this.pos.shard = 0;
      }
    }
  }

  /**
   * Writes the next sequence (T+1 tokens) into out[at .. at+T] and returns true, leaving the position at the
   * next sequence's start. At the end of a one-epoch stream returns the number of tokens written instead
   * (0..T) as a negative-free count via `lastLength`, and false.
   */
  async fill(out: Int32Array, at = 0): Promise<boolean> {
    const T = this.o.seqLen;
    const eos = this.o.eosId;
    let k = 0;
    this.lastLength = 0;
    if (this.ended) return false;
    while (k <= T) {
      if (!(await this.ensureDoc())) {
        this.lastLength = k;
        return false;
      }
      const doc = this.doc!;
      if (k === T) {
        // The last token is the next sequence's first: read it without moving.
        out[at + T] = this.pos.offset < doc.length ? doc[this.pos.offset]! : eos;
        this.lastLength = T + 1;
        return true;
      }
      const n = Math.min(doc.length - this.pos.offset, T - k);
      if (n > 0) {
        out.set(doc.subarray(this.pos.offset, this.pos.offset + n), at + k);
        k += n;
        this.pos.offset += n;
      }
      if (k < T && this.pos.offset === doc.length) {
        out[at + k++] = eos;
        this.pos.offset++;
      }
    }
    return true;
  }

  /** Tokens written by the last fill() (T+1 after a full sequence). */
  lastLength = 0;
}
