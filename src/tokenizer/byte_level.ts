// GPT-2 byte-level pieces shared by the BPE encoder and trainer: the byte→character map of
// docs/checkpoint-format.md §10.2, the GPT-2 pre-tokenisation regex, and UTF-8 helpers.

/** The GPT-2 pre-tokenisation regex (docs/checkpoint-format.md §10.2), with the JS `u` flag. */
export const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Source text of GPT2_SPLIT, to recognise it in other tokenizer.json files. */
export const GPT2_SPLIT_SOURCE = GPT2_SPLIT.source;

/** BYTE_TO_CHAR[b] is the one-character string byte b maps to; CHAR_TO_BYTE inverts it. */
export const BYTE_TO_CHAR: string[] = new Array<string>(256);
export const CHAR_TO_BYTE = new Map<string, number>();
{
  let extra = 0;
  for (let b = 0; b < 256; ++b) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    const ch = String.fromCharCode(printable ? b : 256 + extra++);
    BYTE_TO_CHAR[b] = ch;
    CHAR_TO_BYTE.set(ch, b);
  }
}

/** Bytes in the order HF's trainer lists its initial alphabet: by the code point of the mapped character. */
export const ALPHABET_BYTES: number[] = Array.from({ length: 256 }, (_, b) => b).sort(
  (a, b) => BYTE_TO_CHAR[a]!.charCodeAt(0) - BYTE_TO_CHAR[b]!.charCodeAt(0),
);

/** Maps a byte string to its vocabulary form. */
export function bytesToToken(bytes: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < bytes.length; ++i) s += BYTE_TO_CHAR[bytes[i]!]!;
  return s;
}

/** Inverse of bytesToToken; null when a character is not in the byte map (not a byte-level token). */
export function tokenToBytes(token: string): Uint8Array | null {
  const out = new Uint8Array(token.length);
  for (let i = 0; i < token.length; ++i) {
    const b = CHAR_TO_BYTE.get(token[i]!);
    if (b === undefined) return null;
    out[i] = b;
  }
  return out;
}

const encoder = new TextEncoder();

/** UTF-8 bytes of a string; an ASCII-only string skips TextEncoder. */
export function utf8(s: string): Uint8Array {
  const n = s.length;
  let ascii = true;
  for (let i = 0; i < n; ++i) {
    if (s.charCodeAt(i) > 127) {
      ascii = false;
      break;
    }
  }
  if (!ascii) return encoder.encode(s);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; ++i) out[i] = s.charCodeAt(i);
  return out;
}

/** Splits text into GPT-2 pre-tokens. */
export function preTokenize(text: string): string[] {
  return text.match(GPT2_SPLIT) ?? [];
}
