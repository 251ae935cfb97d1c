// Reads and writes Hugging Face tokenizer.json. Files in the GPT-2 byte-level BPE profile
// (docs/checkpoint-format.md §10.2) load into our fast ByteLevelBpe; any other tokenizer.json loads through
// @huggingface/tokenizers behind the same TextTokenizer interface.
import { readFileSync } from 'node:fs';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { ByteLevelBpe, type SpecialToken, type TextTokenizer } from './bpe.ts';
import { tokenToBytes } from './byte_level.ts';

/** The parts of tokenizer.json we look at (everything else is passed through to HF). */
interface TokenizerJson {
  added_tokens?: { id: number; content: string; special?: boolean }[];
  normalizer?: unknown;
  pre_tokenizer?: { type?: string; add_prefix_space?: boolean; use_regex?: boolean } | null;
  decoder?: { type?: string } | null;
  model?: {
    type?: string;
    vocab?: Record<string, number>;
    merges?: (string | [string, string])[];
    byte_fallback?: boolean;
    continuing_subword_prefix?: string | null;
    end_of_word_suffix?: string | null;
    ignore_merges?: boolean;
    dropout?: number | null;
  };
}

/** Why a tokenizer.json is not in our fast profile, or null when it is. */
export function fastProfileMismatch(j: TokenizerJson): string | null {
  const m = j.model;
  if (!m || m.type !== 'BPE') return `model.type is ${m?.type}, not BPE`;
  if (!m.vocab || !m.merges) return 'model.vocab or model.merges missing';
  if (j.normalizer) return 'has a normalizer';
  const p = j.pre_tokenizer;
  if (!p || p.type !== 'ByteLevel' || p.use_regex === false || p.add_prefix_space) return 'pre_tokenizer is not ByteLevel(use_regex, no prefix space)';
  if (j.decoder && j.decoder.type !== 'ByteLevel') return `decoder is ${j.decoder.type}`;
  if (m.byte_fallback || m.continuing_subword_prefix || m.end_of_word_suffix || m.dropout) return 'BPE options outside the profile';
  for (const tok of Object.keys(m.vocab)) {
    if (!tokenToBytes(tok) && !(j.added_tokens ?? []).some((a) => a.content === tok)) return `vocab entry '${tok}' is not a byte-level string`;
  }
  return null;
}

/** HF tokenizer wrapped as a TextTokenizer (no memo cache: its pre-tokenisation may not be ours). */
class HfWrapped implements TextTokenizer {
  readonly kind = 'hf' as const;
  readonly vocabSize: number;
  readonly eosId: number;
  private readonly byteLen = new Map<number, number>();
  constructor(private readonly tok: HfTokenizer, j: TokenizerJson, config: Record<string, unknown>) {
    const vocab = tok.get_vocab(true) as Map<string, number>;
    let max = -1;
    for (const id of vocab.values()) max = Math.max(max, id);
    this.vocabSize = max + 1;
    const eosText = typeof config.eos_token === 'string' ? config.eos_token : (config.eos_token as { content?: string } | undefined)?.content;
    const eos = (eosText ? vocab.get(eosText) : undefined) ?? (j.added_tokens ?? []).find((a) => /endoftext|eos|<\/s>/i.test(a.content))?.id;
    this.eosId = eos ?? -1;
    const specials = new Set((j.added_tokens ?? []).filter((a) => a.special).map((a) => a.id));
    // Byte-level vocabularies count one byte per character; others (e.g. Metaspace) fall back to UTF-8 length.
    for (const [t, id] of vocab) if (!specials.has(id)) this.byteLen.set(id, tokenToBytes(t)?.length ?? Buffer.byteLength(t, 'utf8'));
  }
  encode(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: false }).ids;
  }
  encodeOrdinary(text: string): Int32Array {
    return Int32Array.from(this.encode(text));
  }
  decode(ids: ArrayLike<number>): string {
    if (ids.length === 0) return '';
    return this.tok.decode(Array.from(ids), { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }
  tokenByteLength(id: number): number {
    return this.byteLen.get(id) ?? 0;
  }
}

/** Builds a TextTokenizer from parsed tokenizer.json (+ optional tokenizer_config.json). */
export function tokenizerFromJson(j: unknown, config: Record<string, unknown> = {}, opts: { forceHf?: boolean } = {}): TextTokenizer {
  const t = j as TokenizerJson;
  if (!opts.forceHf && fastProfileMismatch(t) === null) {
    const m = t.model!;
    const vocab: (string | undefined)[] = [];
    for (const [tok, id] of Object.entries(m.vocab!)) vocab[id] = tok;
    const specialIds = new Set((t.added_tokens ?? []).map((a) => a.id));
    for (const a of t.added_tokens ?? []) if (vocab[a.id] === a.content) vocab[a.id] = undefined;
    for (let id = 0; id < vocab.length; ++id) if (vocab[id] !== undefined && specialIds.has(id)) vocab[id] = undefined;
    const merges = m.merges!.map((x, i): [string, string] => {
      if (Array.isArray(x)) return [x[0], x[1]];
      const sp = x.indexOf(' ');
      if (sp <= 0 || x.indexOf(' ', sp + 1) >= 0) throw new Error(`tokenizer.json: merge ${i} '${x}' is not 'A B'`);
      return [x.slice(0, sp), x.slice(sp + 1)];
    });
    const specials: SpecialToken[] = (t.added_tokens ?? []).map((a) => ({ id: a.id, content: a.content }));
    return new ByteLevelBpe({ vocab, merges, specials, ignoreMerges: m.ignore_merges ?? false });
  }
  return new HfWrapped(new HfTokenizer(t, config), t, config);
}

/** Loads a tokenizer.json file (and tokenizer_config.json beside it when present). Errors name the file. */
export function loadTokenizer(path: string, opts: { forceHf?: boolean } = {}): TextTokenizer {
  let j: unknown;
  try {
    j = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: cannot read tokenizer.json: ${(err as Error).message}`);
  }
  let config: Record<string, unknown> = {};
  try {
    config = JSON.parse(readFileSync(path.replace(/tokenizer\.json$/, 'tokenizer_config.json'), 'utf8'));
  } catch {
    /* optional */
  }
  try {
    return tokenizerFromJson(j, config, opts);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}

/** tokenizer.json text in the §10.2 profile. vocab[id] = byte-level string; specials take the ids after it. */
export function byteLevelTokenizerJson(vocab: string[], merges: [string, string][], specials: SpecialToken[]): string {
  const v: Record<string, number> = {};
  vocab.forEach((t, id) => (v[t] = id));
  for (const s of specials) v[s.content] = s.id;
  const j = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((s) => ({ id: s.id, content: s.content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: v,
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
  return JSON.stringify(j, null, 1) + '\n';
}

/** tokenizer_config.json of §10.4. */
export function tokenizerConfigJson(eos = '<|endoftext|>'): string {
  return JSON.stringify({ tokenizer_class: 'PreTrainedTokenizerFast', model_max_length: 1000000000, bos_token: null, eos_token: eos, pad_token: null }, null, 2) + '\n';
}
