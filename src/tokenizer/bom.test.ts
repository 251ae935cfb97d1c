// A leading U+FEFF (byte-order mark) is text: decode(encode(x)) == x for BOM-prefixed text, at the start of
// the output and after a special token (each is a separate UTF-8 decode), as Hugging Face's decoders give.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { byteLevelTokenizerJson, tokenizerFromJson } from './tokenizer_json.ts';
import { trainBpeOnTexts } from './trainer.ts';

const BOM = '\uFEFF';
const SAMPLES = [
  `${BOM}Hello, world.`,
  BOM,
  `${BOM}${BOM}two marks`,
  `${BOM}\n  indented after a mark`,
  `${BOM}日本語 and 😀`,
  `text ${BOM} with a mark inside`,
  `${BOM}before<|endoftext|>${BOM}after the special token`,
];

test('decode(encode(x)) == x for text that starts with U+FEFF (ours and HF agree)', () => {
  const tr = trainBpeOnTexts([`${BOM}Hello, world. Hello again, world.`, 'plain text without a mark, text again'], { vocabSize: 300, minFrequency: 1 });
  const json = byteLevelTokenizerJson(tr.vocab, tr.merges, tr.specials);
  const tok = tokenizerFromJson(JSON.parse(json));
  assert.equal(tok.kind, 'byte_level_bpe');
  const hf = new HfTokenizer(JSON.parse(json), {});
  for (const x of SAMPLES) {
    const ids = tok.encode(x);
    assert.ok(ids.length > 0);
    assert.equal(tok.decode(ids), x, `round trip of ${JSON.stringify(x)}`);
    assert.equal(tok.decode(tok.encodeOrdinary(x.replace('<|endoftext|>', ''))), x.replace('<|endoftext|>', ''));
    assert.equal(hf.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }), x, `HF decode of ${JSON.stringify(x)}`);
  }
  // Token by token (generate streams this way): the mark is its own decoded piece and is kept.
  const ids = tok.encode(SAMPLES[0]!);
  assert.equal(ids.map((id) => tok.decode([id])).join(''), SAMPLES[0]);
});
