// Byte-level BPE trainer (GPT-2 pre-tokenisation): counts unique pre-tokens, then merges the most frequent
// adjacent pair until the vocabulary is full, updating pair counts only in the words that contain the merged
// pair (a lazy max-heap finds the next best pair). Ties break towards the smaller (left, right) id pair, so
// training is deterministic. Output is the §10.2 profile: 256 byte tokens, merges, then special tokens.
import { ALPHABET_BYTES, BYTE_TO_CHAR, GPT2_SPLIT, utf8 } from './byte_level.ts';
import type { SpecialToken } from './bpe.ts';

const PAIR_BASE = 2097152;

/** Counts GPT-2 pre-tokens across texts (add one document at a time). */
export class WordCounter {
  readonly counts = new Map<string, number>();
  bytes = 0;
  add(text: string): void {
    const counts = this.counts;
    GPT2_SPLIT.lastIndex = 0;
    for (let m = GPT2_SPLIT.exec(text); m !== null; m = GPT2_SPLIT.exec(text)) {
      const w = m[0];
      counts.set(w, (counts.get(w) ?? 0) + 1);
    }
    this.bytes += text.length;
  }
  /** Adds counts gathered elsewhere (e.g. in a worker). */
  merge(entries: Iterable<[string, number]>): void {
    for (const [w, c] of entries) this.counts.set(w, (this.counts.get(w) ?? 0) + c);
  }
}

export interface TrainOptions {
  /** Total ids including special tokens, e.g. 8192. */
  vocabSize: number;
  /** Special tokens, placed at the end of the id range; default ['<|endoftext|>']. */
  specialTokens?: string[];
  /** Stop merging when the best pair occurs fewer times than this (default 2). */
  minFrequency?: number;
  onProgress?: (merges: number, target: number) => void;
}

export interface TrainedBpe {
  /** vocab[id] = byte-level token string, for ids below the first special token. */
  vocab: string[];
  merges: [string, string][];
  specials: SpecialToken[];
}

/** A max-heap of (count, pairKey), ordered by count desc then key asc. */
class PairHeap {
  private c: number[] = [];
  private k: number[] = [];
  get size(): number {
    return this.c.length;
  }
  private above(i: number, j: number): boolean {
    return this.c[i]! > this.c[j]! || (this.c[i] === this.c[j] && this.k[i]! < this.k[j]!);
  }
  private swap(i: number, j: number): void {
    const c = this.c[i]!, k = this.k[i]!;
    this.c[i] = this.c[j]!;
    this.k[i] = this.k[j]!;
    this.c[j] = c;
    this.k[j] = k;
  }
  push(count: number, key: number): void {
    this.c.push(count);
    this.k.push(key);
    let i = this.c.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): [number, number] {
    const top: [number, number] = [this.c[0]!, this.k[0]!];
    const lc = this.c.pop()!, lk = this.k.pop()!;
    if (this.c.length > 0) {
      this.c[0] = lc;
      this.k[0] = lk;
      let i = 0;
      const n = this.c.length;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < n && this.above(l, m)) m = l;
        if (r < n && this.above(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

/** Trains a byte-level BPE on pre-token counts. */
export function trainBpe(counts: Map<string, number>, opts: TrainOptions): TrainedBpe {
  const specialTokens = opts.specialTokens ?? ['<|endoftext|>'];
  const minFrequency = opts.minFrequency ?? 2;
  const target = opts.vocabSize - specialTokens.length;
  if (target < 256) throw new Error(`vocab size ${opts.vocabSize} is too small: need ≥ ${256 + specialTokens.length} (256 bytes + special tokens)`);
  if (opts.vocabSize > PAIR_BASE) throw new Error(`vocab size ${opts.vocabSize} exceeds ${PAIR_BASE}`);

  const vocab: string[] = ALPHABET_BYTES.map((b) => BYTE_TO_CHAR[b]!);
  const tokenToId = new Map<string, number>(vocab.map((t, i) => [t, i]));
  const byteSym = new Int32Array(256);
  ALPHABET_BYTES.forEach((b, i) => (byteSym[b] = i));

  // Words as symbol arrays (shrunk in place by merges).
  const nWords = counts.size;
  const words: Int32Array[] = new Array(nWords);
  const wordLen = new Int32Array(nWords);
  const wordCount = new Float64Array(nWords);
  let w = 0;
  for (const [word, c] of counts) {
    const bytes = utf8(word);
    const s = new Int32Array(bytes.length);
    for (let i = 0; i < bytes.length; ++i) s[i] = byteSym[bytes[i]!]!;
    words[w] = s;
    wordLen[w] = s.length;
    wordCount[w] = c;
    ++w;
  }

  const pairCount = new Map<number, number>();
  const where = new Map<number, number[]>();
  for (let i = 0; i < nWords; ++i) {
    const s = words[i]!, c = wordCount[i]!;
    for (let j = 0; j + 1 < wordLen[i]!; ++j) {
      const k = s[j]! * PAIR_BASE + s[j + 1]!;
      pairCount.set(k, (pairCount.get(k) ?? 0) + c);
      let list = where.get(k);
      if (!list) where.set(k, (list = []));
      if (list[list.length - 1] !== i) list.push(i);
    }
  }
  const heap = new PairHeap();
  for (const [k, c] of pairCount) heap.push(c, k);

  const merges: [string, string][] = [];
  const stamp = new Int32Array(nWords).fill(-1);
  const delta = new Map<number, number>();
  let iter = 0;
  while (vocab.length < target && heap.size > 0) {
    const [cnt, key] = heap.pop();
    if (pairCount.get(key) !== cnt) continue; // stale entry: the pair's count changed after this push
    if (cnt < minFrequency) break;
    const a = Math.floor(key / PAIR_BASE), b = key - a * PAIR_BASE;
    const str = vocab[a]! + vocab[b]!;
    let id = tokenToId.get(str);
    if (id === undefined) {
      id = vocab.length;
      vocab.push(str);
      tokenToId.set(str, id);
    }
    merges.push([vocab[a]!, vocab[b]!]);
    delta.clear();
    const list = where.get(key) ?? [];
    for (const wi of list) {
      if (stamp[wi] === iter) continue;
      stamp[wi] = iter;
      const s = words[wi]!;
      let len = wordLen[wi]!;
      const c = wordCount[wi]!;
      let has = false;
      for (let j = 0; j + 1 < len; ++j) if (s[j] === a && s[j + 1] === b) { has = true; break; }
      if (!has) continue;
      for (let j = 0; j + 1 < len; ++j) {
        const k = s[j]! * PAIR_BASE + s[j + 1]!;
        delta.set(k, (delta.get(k) ?? 0) - c);
      }
      let o = 0;
      for (let j = 0; j < len; ++j) {
        if (j + 1 < len && s[j] === a && s[j + 1] === b) {
          s[o++] = id;
          ++j;
        } else s[o++] = s[j]!;
      }
      len = wordLen[wi] = o;
      for (let j = 0; j + 1 < len; ++j) {
        const k = s[j]! * PAIR_BASE + s[j + 1]!;
        delta.set(k, (delta.get(k) ?? 0) + c);
        if (s[j] === id || s[j + 1] === id) {
          let l2 = where.get(k);
          if (!l2) where.set(k, (l2 = []));
          if (l2[l2.length - 1] !== wi) l2.push(wi);
        }
      }
    }
    pairCount.delete(key);
    where.delete(key);
    for (const [k, d] of delta) {
      if (d === 0 || k === key) continue;
      const n = (pairCount.get(k) ?? 0) + d;
      if (n > 0) {
        pairCount.set(k, n);
        heap.push(n, k);
      } else {
        pairCount.delete(k);
        where.delete(k);
      }
    }
    ++iter;
    if (opts.onProgress && iter % 500 === 0) opts.onProgress(vocab.length, target);
  }
  const specials = specialTokens.map((content, i) => ({ id: vocab.length + i, content }));
  return { vocab, merges, specials };
}

/** Convenience: train on texts. */
export function trainBpeOnTexts(texts: Iterable<string>, opts: TrainOptions): TrainedBpe {
  const wc = new WordCounter();
  for (const t of texts) wc.add(t);
  return trainBpe(wc.counts, opts);
}

