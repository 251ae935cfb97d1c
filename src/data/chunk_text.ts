// Cutting long texts into documents of about `target` characters at blank lines (then line ends, sentence
// ends, spaces). chunkTextStream cuts text that arrives in pieces into exactly the documents chunkText makes
// of the whole text, holding about 2 × target characters plus one piece, so a multi-GB .txt file streams.

export const DEFAULT_CHUNK = 32768;

/**
 * Index of the last character of the document starting at `start`, when more than target × 1.5 characters
 * are left. Reads no further than start + 2·target + 1, so any prefix of the text longer than that gives
 * the same cut as the whole text.
 */
function nextCut(text: string, start: number, target: number): number {
  let cut = text.indexOf('\n\n', start + target);
  // Prefer a blank line, then a line end, then a sentence end, then a space (one-line files, e.g. speeches).
  for (const sep of ['\n', '. ', ' ']) {
    if (cut >= 0 && cut - start <= target * 2) break;
    cut = text.indexOf(sep, start + target);
    if (cut >= 0) cut += sep.length - 1;
  }
  if (cut < 0 || cut - start > target * 2) cut = start + target * 2 - 1;
  if (/[\ud800-\udbff]/.test(text[cut]!)) ++cut; // never split a surrogate pair
  return cut;
}

/** Cuts text into pieces of about `target` characters at blank lines (or line ends); pieces join back to text. */
export function chunkText(text: string, target = DEFAULT_CHUNK): string[] {
  if (text.length <= target * 1.5) return text.length ? [text] : [];
  const out: string[] = [];
  let start = 0;
  while (start < text.length) {
    if (text.length - start <= target * 1.5) {
      out.push(text.slice(start));
      break;
    }
    const cut = nextCut(text, start, target);
    out.push(text.slice(start, cut + 1));
    start = cut + 1;
  }
  return out;
}

/**
 * chunkText of the concatenated pieces, yielded as soon as each cut is decided: a cut is made only once more
 * than 2·target + 2 characters are buffered (then nextCut sees all it reads, and more than target × 1.5 are
 * left, so it is not the last document); what is left at the end is chunkText's. Pieces may split surrogate
 * pairs. target: a positive integer (every cut then ends on a whole index), or Infinity (one document).
 */
export async function* chunkTextStream(pieces: AsyncIterable<string> | Iterable<string>, target = DEFAULT_CHUNK): AsyncGenerator<string> {
  const enough = target * 2 + 2;
  let buf = '';
  for await (const piece of pieces) {
    buf += piece;
    while (buf.length > enough) {
      const cut = nextCut(buf, 0, target);
      yield buf.slice(0, cut + 1);
      buf = buf.slice(cut + 1);
    }
  }
  yield* chunkText(buf, target);
}
