// Tokenizer tests: our encoder gives the same ids as @huggingface/tokenizers on the same tokenizer.json (the
// spec fixtures, a freshly trained file, the prepared dataset's file when present); decode(encode(x)) == x
// on emoji, CJK, NUL, 0xFF-derived text and every corpus; the trainer is deterministic and writes the profile.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { readManifest } from '../data/manifest.ts';
import { readTextShard } from '../data/shards.ts';
import { FIXTURE_NAMES, fixtureDir } from '../testing/fixtures.ts';
import { ByteLevelBpe } from './bpe.ts';
import { byteLevelTokenizerJson, loadTokenizer, tokenizerFromJson } from './tokenizer_json.ts';
import { trainBpeOnTexts } from './trainer.ts';

const root = path.resolve(import.meta.dirname, '../..');

const PROSE = `It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.
However little known the feelings or views of such a man may be on his first entering a neighbourhood, this truth is so well
fixed in the minds of the surrounding families, that he is considered the rightful property of some one or other of their daughters.
"My dear Mr. Bennet," said his lady to him one day, "have you heard that Netherfield Park is let at last?" I'll, you've, we're.`;
const CODE = `export const pipe = <A, B>(a: A, ab: (a: A) => B): B => ab(a);\nfunction* range(n: number) {\n    for (let i = 0; i < n; ++i) yield i;\n}\n\tconst x = { "k": [1, 2, 3] };  // comment\n`;
const MATH = `$( Theorem: if $ph$ then $ps$. $) ax-mp $a |- ps $.\n\\begin{equation} \\sum_{n\\ge1} n^{-s} = \\zeta(s), \\quad x^2 + y^2 = z^2 \\end{equation}\n`;
const HARD_SAMPLES = [
  'emoji 😀👍🏽 family 👨‍👩‍👧‍👦 flags 🇫🇷🇯🇵',
  'CJK 日本語のテキスト 中文文本 한국어 텍스트',
  'NUL \u0000 inside \u0000\u0000 text',
  Buffer.from([0xff, 0xfe, 0x41, 0xff]).toString('latin1'), // 0xFF-derived: ÿþAÿ
  Buffer.from([0x61, 0xff, 0x62, 0xc3]).toString('utf8'), // invalid bytes become U+FFFD
  'mixed\r\n\ttabs   and   spaces   \n\n\n  trailing   ',
  "contractions: it's we've they'll I'd 'quoted' don't",
  'numbers 3.14159 1e-10 ٣٤٥ ⅷ and accents: café naïve Ångström',
  '',
  ' ',
  '<|endoftext|> special text in the middle <|endoftext|>',
];

function hfIds(json: unknown, text: string): number[] {
  return new HfTokenizer(json as object, {}).encode(text, { add_special_tokens: false }).ids;
}

function trainedJson(): string {
  const tr = trainBpeOnTexts([PROSE, CODE, MATH, PROSE.toUpperCase(), ...HARD_SAMPLES], { vocabSize: 600, minFrequency: 1 });
  return byteLevelTokenizerJson(tr.vocab, tr.merges, tr.specials);
}

test('trainer writes the §10.2 profile: 256 bytes first, string merges, <|endoftext|> last', () => {
  const j = JSON.parse(trainedJson());
  assert.equal(j.pre_tokenizer.type, 'ByteLevel');
  assert.equal(j.decoder.type, 'ByteLevel');
  assert.equal(j.post_processor, null);
  assert.equal(j.model.vocab['!'], 0);
  assert.equal(j.model.vocab['Ġ'], 256 - 68 + 32); // space maps to the 33rd extra char, after 188 printable bytes
  assert.ok(j.model.merges.every((m: unknown) => typeof m === 'string' && (m as string).split(' ').length === 2));
  const ids = Object.values(j.model.vocab as Record<string, number>).sort((a, b) => a - b);
  assert.deepEqual(ids, Array.from({ length: ids.length }, (_, i) => i), 'ids are dense');
  assert.equal(j.added_tokens[0].content, '<|endoftext|>');
  assert.equal(j.added_tokens[0].id, ids.length - 1);
  assert.equal(ids.length, 600);
});

test('trainer is deterministic and merges the most frequent pair first', () => {
  assert.equal(trainedJson(), trainedJson());
  const tr = trainBpeOnTexts(['aaab aaab aaab xy'], { vocabSize: 260, minFrequency: 1 });
  assert.deepEqual(tr.merges[0], ['a', 'a']);
  assert.equal(tr.vocab.length + tr.specials.length, 260);
});

test('our encoder matches @huggingface/tokenizers ids on a trained tokenizer and round-trips', () => {
  const json = JSON.parse(trainedJson());
  const tok = tokenizerFromJson(json);
  assert.equal(tok.kind, 'byte_level_bpe');
  for (const s of [PROSE, CODE, MATH, ...HARD_SAMPLES]) {
    const ids = tok.encode(s);
    assert.deepEqual(ids, hfIds(json, s), `ids differ on ${JSON.stringify(s.slice(0, 40))}`);
    assert.equal(tok.decode(ids), s);
    assert.equal(tok.decode(tok.encodeOrdinary(s)), s);
  }
  // encodeOrdinary treats special-token text as text; encode maps it to the id.
  const eos = tok.eosId;
  assert.ok(tok.encode('a<|endoftext|>b').includes(eos));
  assert.ok(!Array.from(tok.encodeOrdinary('a<|endoftext|>b')).includes(eos));
  // 0xFF-derived and NUL: every byte token exists, nothing unknown.
  assert.ok(tok.encode('\u0000ÿ').every((id) => id >= 0 && id < tok.vocabSize));
});

test('spec fixture tokenizers load (fast path and HF fallback) with the same ids as @huggingface/tokenizers', () => {
  for (const d of FIXTURE_NAMES) {
    const file = path.join(fixtureDir(d), 'tokenizer.json');
    const json = JSON.parse(readFileSync(file, 'utf8'));
    const fast = loadTokenizer(file);
    const slow = loadTokenizer(file, { forceHf: true });
    assert.equal(fast.kind, 'byte_level_bpe');
    assert.equal(slow.kind, 'hf');
    assert.equal(fast.vocabSize, 320);
    assert.equal(fast.eosId, 319);
    assert.equal(slow.eosId, 319);
    for (const s of [PROSE, CODE, MATH, ...HARD_SAMPLES]) {
      const ids = fast.encode(s);
      assert.deepEqual(ids, hfIds(json, s), `${d}: ids differ on ${JSON.stringify(s.slice(0, 40))}`);
      assert.deepEqual(slow.encode(s), ids);
      assert.equal(fast.decode(ids), s);
      assert.equal(slow.decode(ids), s);
    }
    let bytes = 0;
    const ids = fast.encodeOrdinary(PROSE);
    for (const id of ids) bytes += fast.tokenByteLength(id);
    assert.equal(bytes, Buffer.byteLength(PROSE), 'token byte lengths add up to the text bytes');
  }
});

test('a tokenizer.json outside our profile loads through @huggingface/tokenizers', () => {
  const json = JSON.parse(trainedJson());
  json.normalizer = { type: 'Lowercase' };
  const tok = tokenizerFromJson(json);
  assert.equal(tok.kind, 'hf');
  assert.deepEqual(tok.encode('Hello World'), hfIds(json, 'Hello World'));
  assert.equal(tok.decode(tok.encode('Hello World')), 'hello world');
  // Array-form merges ([["a","b"]], tokenizers >= 0.20) take the fast path too.
  const arr = JSON.parse(trainedJson());
  arr.model.merges = arr.model.merges.map((m: string) => m.split(' '));
  const t2 = tokenizerFromJson(arr);
  assert.equal(t2.kind, 'byte_level_bpe');
  assert.deepEqual(t2.encode(PROSE), tokenizerFromJson(JSON.parse(trainedJson())).encode(PROSE));
});

test('memo cache does not change results and stays bounded', () => {
  const tok = tokenizerFromJson(JSON.parse(trainedJson())) as ByteLevelBpe;
  const first = tok.encode(PROSE);
  const again = tok.encode(PROSE);
  assert.deepEqual(again, first);
  assert.ok(tok.cacheSize > 0 && tok.cacheSize < 1 << 18);
});

// Every corpus: the prepared dataset when it exists locally (a capped sample of each shard), else built-ins.
const dataset = path.join(root, 'data/lrnn-mix');
const manifest = existsSync(path.join(dataset, 'manifest.json')) ? readManifest(dataset) : null;
test('decode(encode(x)) == x on every corpus of the prepared dataset', { skip: !manifest?.tokenizer && 'no prepared data/lrnn-mix (run lrnn prepare)' }, async () => {
  const tok = loadTokenizer(path.join(dataset, 'tokenizer.json'));
  const json = JSON.parse(readFileSync(path.join(dataset, 'tokenizer.json'), 'utf8'));
  const hf = new HfTokenizer(json, {});
  let docs = 0;
  for (const [domain, e] of Object.entries(manifest!.domains)) {
    for (const split of ['train', 'validation', 'test'] as const) {
      for (const sh of e.splits[split].shards) {
        let bytes = 0;
        for await (const row of readTextShard(path.join(dataset, sh.file), { expectRows: sh.rows })) {
          const ids = tok.encodeOrdinary(row.text);
          assert.equal(tok.decode(ids), row.text, `${domain}/${row.docId}: round trip differs`);
          if (docs % 50 === 0) assert.deepEqual(Array.from(ids), hf.encode(row.text, { add_special_tokens: false }).ids, `${row.docId}: ids differ from HF`);
          ++docs;
          bytes += row.text.length;
          if (bytes > 300_000) break;
        }
      }
    }
  }
  assert.ok(docs > 0);
});
