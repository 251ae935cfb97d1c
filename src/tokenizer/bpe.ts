// Our fast byte-level BPE encoder/decoder for the GPT-2 tokenizer.json profile (docs/checkpoint-format.md §10.2):
// GPT-2 regex split, a memo cache per pre-token, and merges applied by rank exactly as HF's BPE does, so ids
// match @huggingface/tokenizers on the same file (checked in bpe.test.ts).
import { BYTE_TO_CHAR, GPT2_SPLIT, tokenToBytes, utf8 } from './byte_level.ts';

/** What the data pipeline and trainer need from any tokenizer. */
export interface TextTokenizer {
  /** 'byte_level_bpe' = our fast encoder; 'hf' = @huggingface/tokenizers (any other tokenizer.json). */
  readonly kind: 'byte_level_bpe' | 'hf';
  /** Number of ids (max id + 1). */
  readonly vocabSize: number;
  /** Id of the end-of-text token placed between documents; -1 when the file has none. */
  readonly eosId: number;
  /** Encodes like HF (`add_special_tokens: false`): special-token text in `text` becomes its id. */
  encode(text: string): number[];
  /**
   * Encodes without matching special-token text (training data: documents are joined by inserting eosId).
   * Only our byte-level encoder can; the HF fallback matches special text as HF always does.
   */
  encodeOrdinary(text: string): Int32Array;
  /** Decodes ids to text (special tokens as their text); invalid UTF-8 becomes U+FFFD like HF. */
  decode(ids: ArrayLike<number>): string;
  /** UTF-8 bytes id stands for (0 for special tokens), for bits-per-byte; §10.3. */
  tokenByteLength(id: number): number;
}

export interface SpecialToken {
  id: number;
  content: string;
}

/** Pair key for merge tables: ids stay below 2^21. */
export const pairKey = (a: number, b: number): number => a * 2097152 + b;

// ignoreBOM: a leading U+FEFF is text, as in HF's decoder; the default would drop it from decode's output.
const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const CACHE_LIMIT = 1 << 18;

export interface ByteLevelBpeInit {
  /** vocab[id] = byte-level token string; holes allowed for ids used only by special tokens. */
  vocab: (string | undefined)[];
  /** Merges in rank order as [left, right] token strings. */
  merges: [string, string][];
  specials: SpecialToken[];
  /** HF `ignore_merges`: a pre-token that is a whole vocab entry maps to it directly. */
  ignoreMerges?: boolean;
}

export class ByteLevelBpe implements TextTokenizer {
  readonly kind = 'byte_level_bpe' as const;
  readonly vocabSize: number;
  readonly eosId: number;
  readonly specials: SpecialToken[];
  private readonly tokenToId = new Map<string, number>();
  private readonly tokenBytes: (Uint8Array | undefined)[];
  private readonly byteId = new Int32Array(256);
  /** (a,b) → rank of merge "a b"; mergedId[rank] = id of the concatenation. */
  private readonly rank: PairTable;
  private readonly mergedId: Int32Array;
  private readonly ignoreMerges: boolean;
  private readonly cache = new Map<string, Int32Array>();
  private readonly specialSplit: RegExp | null;
  private readonly specialByText = new Map<string, number>();
  private buf = new Int32Array(1 << 16);

  constructor(init: ByteLevelBpeInit) {
    this.specials = init.specials;
    this.ignoreMerges = init.ignoreMerges ?? false;
    let maxId = -1;
    this.tokenBytes = new Array(init.vocab.length);
    init.vocab.forEach((tok, id) => {
      if (tok === undefined) return;
      maxId = Math.max(maxId, id);
      if (!this.tokenToId.has(tok)) this.tokenToId.set(tok, id);
      this.tokenBytes[id] = tokenToBytes(tok) ?? undefined;
    });
    for (const s of init.specials) {
      maxId = Math.max(maxId, s.id);
      this.specialByText.set(s.content, s.id);
      this.tokenBytes[s.id] = undefined;
    }
    this.vocabSize = maxId + 1;
    for (let b = 0; b < 256; ++b) {
      const id = this.tokenToId.get(BYTE_TO_CHAR[b]!);
      if (id === undefined) throw new Error(`byte-level BPE: the vocabulary lacks the byte token for 0x${b.toString(16)} ('${BYTE_TO_CHAR[b]}')`);
      this.byteId[b] = id;
    }
    this.mergedId = new Int32Array(init.merges.length);
    this.rank = new PairTable(init.merges.length);
    init.merges.forEach(([l, r], i) => {
      const a = this.tokenToId.get(l), b = this.tokenToId.get(r), m = this.tokenToId.get(l + r);
      if (a === undefined || b === undefined || m === undefined) {
        throw new Error(`byte-level BPE: merge ${i} '${l} ${r}' uses a token missing from the vocabulary`);
      }
      if (this.rank.get(a, b) < 0) this.rank.set(a, b, i);
      this.mergedId[i] = m;
    });
    const eos = init.specials.find((s) => s.content === '<|endoftext|>') ?? init.specials.find((s) => /^<\|?(eos|endoftext|end_of_text)\|?>$|^<\/s>$/i.test(s.content));
    this.eosId = eos ? eos.id : -1;
    this.specialSplit = init.specials.length
      ? new RegExp(
          [...init.specials]
            .sort((x, y) => y.content.length - x.content.length)
            .map((s) => s.content.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
            .join('|'),
          'g',
        )
      : null;
  }

  encode(text: string): number[] {
    const out: number[] = [];
    const push = (s: string) => {
      const ids = this.encodeOrdinary(s);
      for (let i = 0; i < ids.length; ++i) out.push(ids[i]!);
    };
    if (!this.specialSplit) {
      push(text);
      return out;
    }
    let last = 0;
    for (const m of text.matchAll(this.specialSplit)) {
      if (m.index! > last) push(text.slice(last, m.index));
      out.push(this.specialByText.get(m[0])!);
      last = m.index! + m[0].length;
    }
    if (last < text.length) push(text.slice(last));
    return out;
  }

  encodeOrdinary(text: string): Int32Array {
    let n = 0;
    let buf = this.buf;
    const cache = this.cache;
    GPT2_SPLIT.lastIndex = 0;
    for (let m = GPT2_SPLIT.exec(text); m !== null; m = GPT2_SPLIT.exec(text)) {
      const piece = m[0];
      let ids = cache.get(piece);
      if (ids === undefined) {
        ids = this.bpe(piece);
        if (cache.size >= CACHE_LIMIT) cache.clear();
        cache.set(piece, ids);
      }
      if (n + ids.length > buf.length) {
        const bigger = new Int32Array(Math.max(buf.length * 2, n + ids.length));
        bigger.set(buf.subarray(0, n));
        buf = this.buf = bigger;
      }
      if (ids.length === 1) buf[n++] = ids[0]!;
      else {
        buf.set(ids, n);
        n += ids.length;
      }
    }
    return buf.slice(0, n);
  }

  /** BPE of one pre-token: merge the lowest-ranked adjacent pair (all its occurrences, left to right) until none is left. */
  private bpe(piece: string): Int32Array {
    const bytes = utf8(piece);
    if (this.ignoreMerges) {
      let tok = '';
      for (let i = 0; i < bytes.length; ++i) tok += BYTE_TO_CHAR[bytes[i]!];
      const id = this.tokenToId.get(tok);
      if (id !== undefined) return Int32Array.of(id);
    }
    const syms = new Int32Array(bytes.length);
    for (let i = 0; i < bytes.length; ++i) syms[i] = this.byteId[bytes[i]!]!;
    let n = syms.length;
    const rank = this.rank;
    while (n > 1) {
      let best = -1;
      for (let i = 0; i + 1 < n; ++i) {
        const r = rank.get(syms[i]!, syms[i + 1]!);
        if (r >= 0 && (best < 0 || r < best)) best = r;
      }
      if (best < 0) break;
      const merged = this.mergedId[best]!;
      let o = 0;
      for (let i = 0; i < n; ++i) {
        if (i + 1 < n && rank.get(syms[i]!, syms[i + 1]!) === best) {
          syms[o++] = merged;
          ++i;
        } else syms[o++] = syms[i]!;
      }
      n = o;
    }
    return syms.slice(0, n);
  }

  decode(ids: ArrayLike<number>): string {
    let total = 0;
    for (let i = 0; i < ids.length; ++i) total += this.tokenBytes[ids[i]!]?.length ?? 0;
    const parts: string[] = [];
    let bytes = new Uint8Array(total);
    let n = 0;
    const flush = () => {
      if (n > 0) parts.push(decoder.decode(bytes.subarray(0, n)));
      bytes = bytes.subarray(n);
      n = 0;
    };
    for (let i = 0; i < ids.length; ++i) {
      const id = ids[i]!;
      const tb = this.tokenBytes[id];
      if (tb) {
        bytes.set(tb, n);
        n += tb.length;
        continue;
      }
      const special = this.specials.find((s) => s.id === id);
      if (!special) throw new Error(`decode: id ${id} is not in the vocabulary (size ${this.vocabSize})`);
      flush();
      parts.push(special.content);
    }
    flush();
    return parts.join('');
  }

  tokenByteLength(id: number): number {
    return this.tokenBytes[id]?.length ?? 0;
  }

  /** Number of cached pre-tokens (for benchmarks). */
  get cacheSize(): number {
    return this.cache.size;
  }
}

/** Open-addressing hash table (a, b) → value ≥ 0 over Int32Arrays: faster than a Map keyed by a·2^21+b, whose keys are not small integers. */
class PairTable {
  private readonly mask: number;
  private readonly ka: Int32Array;
  private readonly kb: Int32Array;
  private readonly val: Int32Array;
  constructor(n: number) {
    let cap = 16;
    while (cap < n * 2) cap *= 2;
    this.mask = cap - 1;
    this.ka = new Int32Array(cap).fill(-1);
    this.kb = new Int32Array(cap);
    this.val = new Int32Array(cap);
  }
  private slot(a: number, b: number): number {
    return (Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca6b)) >>> 0;
  }
  get(a: number, b: number): number {
    for (let i = this.slot(a, b) & this.mask; ; i = (i + 1) & this.mask) {
      const k = this.ka[i]!;
      if (k === -1) return -1;
      if (k === a && this.kb[i] === b) return this.val[i]!;
    }
  }
  set(a: number, b: number, v: number): void {
    for (let i = this.slot(a, b) & this.mask; ; i = (i + 1) & this.mask) {
      if (this.ka[i] === -1 || (this.ka[i] === a && this.kb[i] === b)) {
        this.ka[i] = a;
        this.kb[i] = b;
        this.val[i] = v;
        return;
      }
    }
  }
}
