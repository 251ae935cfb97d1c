// The shared evaluator: a uniform model's perplexity is the vocabulary size, bits per byte on hand cases
// (including exact UTF-8 byte counts through a real byte-level tokenizer), window cutting and strided
// scoring checked against a brute-force definition, batch-size invariance, and a real tiny model evaluated
// twice giving identical numbers without leaking tensors; the fast path (the model's streamed per-token
// NLL, no logits) held to the reference path (softmax cross-entropy of the model's logits).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend/index.ts';
import { modelConfigFromRecipe } from '../models/config.ts';
import { initModel } from '../models/index.ts';
import { byteLevelTokenizerJson, tokenizerFromJson } from '../tokenizer/tokenizer_json.ts';
import { BYTE_TO_CHAR } from '../tokenizer/byte_level.ts';
import { type LogitModel, evaluatePerplexity, makeWindows, summarize, tokenLosses } from './perplexity.ts';
import { evaluateValidation } from './validation.ts';

before(async () => {
  await initBackend({ warn: () => {} });
});

/** Logits that are the same for every token: p = 1/V everywhere. */
function uniformModel(V: number): LogitModel & { calls: number } {
  const m = {
    calls: 0,
    config: { vocab_size: V },
    forward(tokens: tf.Tensor2D): tf.Tensor3D {
      m.calls += 1;
      const [B, T] = tokens.shape;
      return tf.fill([B, T, V], 0.25) as tf.Tensor3D;
    },
  };
  return m;
}

/** Logit of token 0 grows with the position in the window: the loss depends on context length. */
function positionModel(V: number): LogitModel {
  return {
    forward(tokens: tf.Tensor2D): tf.Tensor3D {
      const [B, T] = tokens.shape;
      const data = new Float32Array(B * T * V);
      for (let b = 0; b < B; ++b) for (let t = 0; t < T; ++t) data[(b * T + t) * V] = 0.1 * t;
      return tf.tensor3d(data, [B, T, V]);
    },
  };
}

/** −log p(y) under positionModel at window position t. */
function positionNll(V: number, t: number, y: number): number {
  const z = Math.exp(0.1 * t) + V - 1;
  return -Math.log((y === 0 ? Math.exp(0.1 * t) : 1) / z);
}

const stream = (n: number, V: number, seed = 1) => Int32Array.from({ length: n }, (_, i) => ((i * 7919 + seed * 31) % V + V) % V);

test('a uniform model has perplexity = vocab size, in every position bucket', () => {
  const V = 50;
  const m = uniformModel(V);
  const r = evaluatePerplexity(m, makeWindows(stream(1001, V), 200), { buckets: [128], batchSize: 2 });
  assert.equal(r.tokens, 1000);
  assert.equal(r.windows, 5);
  assert.ok(Math.abs(r.ppl - V) / V < 1e-5, `ppl ${r.ppl} vs ${V}`);
  assert.ok(Math.abs(r.loss - Math.log(V)) < 1e-6);
  assert.equal(r.buckets.length, 2);
  assert.equal(r.buckets[0]!.tokens, 5 * 128);
  assert.equal(r.buckets[1]!.tokens, 5 * 72);
  for (const b of r.buckets) assert.ok(Math.abs(b.ppl - V) / V < 1e-5);
  assert.equal(r.bytes, null);
  assert.equal(r.bpb, null);
  assert.equal(m.calls, 3, '5 equal windows in batches of 2');
});

test('bits per byte: hand cases', () => {
  // 8 targets at NLL ln 2 each = 8 bits over 4 bytes = 2 bits per byte.
  assert.deepEqual(summarize(8 * Math.LN2, 8, 4), { loss: Math.LN2, ppl: 2, bpb: 2 });
  assert.equal(summarize(1, 1, 0).bpb, null);
  // Uniform over V = 4 gives 2 bits per token; tokens of 1, 2, 3, 0 (a special token) bytes.
  const bytesOf = [1, 2, 3, 0];
  const s = Int32Array.of(3, 0, 1, 2, 3, 1);
  const r = evaluatePerplexity(uniformModel(4), makeWindows(s, 3), { tokenBytes: (id) => bytesOf[id]! });
  assert.equal(r.tokens, 5);
  assert.equal(r.bytes, 1 + 2 + 3 + 0 + 2, 'bytes of the scored targets only (not the first token)');
  assert.ok(Math.abs(r.bpb! - (5 * 2) / 8) < 1e-6, `bpb ${r.bpb}`);
});

test('bits per byte counts the exact UTF-8 bytes of the text through a byte-level tokenizer', () => {
  // 256 byte tokens, two merges (multi-byte tokens), end-of-text at 258.
  const vocab = Array.from({ length: 256 }, (_, b) => BYTE_TO_CHAR[b]!);
  const merges: [string, string][] = [['l', 'l'], [BYTE_TO_CHAR[0xc3]!, BYTE_TO_CHAR[0xa9]!]];
  vocab.push('ll', BYTE_TO_CHAR[0xc3]! + BYTE_TO_CHAR[0xa9]!);
  const tok = tokenizerFromJson(JSON.parse(byteLevelTokenizerJson(vocab, merges, [{ id: 258, content: '<|endoftext|>' }])));
  const docs = ['héllo wörld', 'naïve café — ok'];
  const ids: number[] = [];
  for (const d of docs) ids.push(...tok.encodeOrdinary(d), tok.eosId);
  assert.ok(ids.includes(256) && ids.includes(257), 'merged tokens are used');
  const s = Int32Array.from(ids);
  const r = evaluatePerplexity(uniformModel(259), makeWindows(s, 4, 2), { tokenBytes: (id) => tok.tokenByteLength(id) });
  const textBytes = docs.reduce((a, d) => a + Buffer.byteLength(d, 'utf8'), 0);
  assert.equal(r.tokens, s.length - 1);
  assert.equal(r.bytes, textBytes - tok.tokenByteLength(s[0]!), 'every byte but the first token, EOS counting 0');
  assert.ok(Math.abs(r.bpb! - (r.tokens * Math.log(259)) / Math.LN2 / r.bytes!) < 1e-6);
});

test('makeWindows: each position after the first is scored once, for any stride', () => {
  const s = Int32Array.from({ length: 10 }, (_, i) => i);
  const nonOverlap = [...makeWindows(s, 4)].map((w) => [Array.from(w.tokens), w.scoreFrom]);
  assert.deepEqual(nonOverlap, [[[0, 1, 2, 3, 4], 0], [[4, 5, 6, 7, 8], 0], [[8, 9], 0]]);
  const strided = [...makeWindows(s, 4, 2)].map((w) => [w.tokens[0], w.tokens.length, w.scoreFrom]);
  assert.deepEqual(strided, [[0, 5, 0], [2, 5, 2], [4, 5, 2], [6, 4, 2]]);
  for (const [L, S] of [[4, 1], [4, 3], [7, 7], [3, 2]] as const) {
    const seen = new Array<number>(s.length).fill(0);
    for (const w of makeWindows(s, L, S)) for (let j = w.scoreFrom; j < w.tokens.length - 1; ++j) seen[w.tokens[j + 1]!]! += 1;
    assert.deepEqual(seen, [0, 1, 1, 1, 1, 1, 1, 1, 1, 1], `L=${L} S=${S}`);
  }
  assert.deepEqual([...makeWindows(s, 4, 4, 6)].map((w) => Array.from(w.tokens)), [[0, 1, 2, 3, 4], [4, 5, 6]], 'maxTargets cuts the stream');
  assert.equal([...makeWindows(Int32Array.of(5), 4)].length, 0);
  assert.throws(() => [...makeWindows(s, 4, 5)], /stride/);
});

test('strided scoring matches the brute-force definition (context = position in the window)', () => {
  const V = 7, L = 6, S = 2;
  const s = stream(23, V, 3);
  const r = evaluatePerplexity(positionModel(V), makeWindows(s, L, S), { buckets: [3], batchSize: 3 });
  // Definition: stream position p (≥ 1) is scored in the first window that contains it as a target at or after
  // the previous window's end; its window position is p − 1 − b.
  let nll = 0, n = 0, early = 0;
  let scoredEnd = 1;
  for (let b = 0; ; b += S) {
    const e = Math.min(b + L + 1, s.length);
    for (let p = Math.max(scoredEnd, b + 1); p < e; ++p) {
      const t = p - 1 - b;
      nll += positionNll(V, t, s[p]!);
      n += 1;
      if (t < 3) early += 1;
    }
    scoredEnd = Math.max(scoredEnd, e);
    if (e >= s.length) break;
  }
  assert.equal(r.tokens, n);
  assert.ok(Math.abs(r.nll - nll) < 1e-4, `nll ${r.nll} vs ${nll}`);
  assert.equal(r.buckets[0]!.tokens, early);
  // Non-overlapping windows see less context on average, so their loss differs.
  const r2 = evaluatePerplexity(positionModel(V), makeWindows(s, L), {});
  assert.equal(r2.tokens, n);
  assert.notEqual(r2.nll.toFixed(4), r.nll.toFixed(4));
});

test('bad input: token ids outside the vocabulary name the window and position', () => {
  assert.throws(() => evaluatePerplexity(uniformModel(10), [{ tokens: Int32Array.of(1, 2, 10), scoreFrom: 0 }]), /window 0: token id 10 at position 2 .*\[0, 10\)/);
  assert.throws(() => evaluatePerplexity(uniformModel(10), [{ tokens: Int32Array.of(1, 2), scoreFrom: 1 }]), /scoreFrom 1/);
});

test('a real tiny DeltaNet: identical results twice, independent of batch size, no leaked tensors', () => {
  const config = modelConfigFromRecipe({ arch: 'deltanet', size: 'tiny', allow_neg_eigval: false, vocab_size: 64 });
  const model = initModel(config, 3);
  try {
    const s = stream(300, 64, 5);
    const before = tf.memory().numTensors;
    const a = evaluatePerplexity(model, makeWindows(s, 32), { batchSize: 4, tokenBytes: () => 1 });
    const b = evaluatePerplexity(model, makeWindows(s, 32), { batchSize: 4, tokenBytes: () => 1 });
    assert.equal(tf.memory().numTensors, before, 'no tensors leaked');
    assert.deepEqual(a, b);
    const c = evaluatePerplexity(model, makeWindows(s, 32), { batchSize: 1, tokenBytes: () => 1 });
    assert.ok(Math.abs(c.nll - a.nll) / a.nll < 1e-5, `batch 1 ${c.nll} vs batch 4 ${a.nll}`);
    // At initialisation the loss is near ln V (the models' own init check).
    assert.ok(Math.abs(a.loss - Math.log(64)) < 0.5, `loss ${a.loss}`);
    assert.ok(Math.abs(a.bpb! - a.loss / Math.LN2) < 1e-9, 'one byte per token: bpb = bits per token');
  } finally {
    model.dispose();
  }
});

test("evaluateValidation (the trainer's periodic eval) equals the model's own mean loss, with bpb from bytes", async () => {
  const config = modelConfigFromRecipe({ arch: 'deltanet', size: 'tiny', allow_neg_eigval: false, vocab_size: 64 });
  const model = initModel(config, 4);
  try {
    const rows = 3, width = 17;
    const data = {
      batches: (split: string, max: number) => Array.from({ length: Math.min(max, 2) }, (_, i) => ({ tokens: stream(rows * width, 64, i + (split === 'code' ? 10 : 0)), rows, width })),
      bytesPerToken: () => 2,
    };
    const r = await evaluateValidation(model, data, ['text', 'code'], 5);
    assert.deepEqual(Object.keys(r), ['text', 'code']);
    let sum = 0;
    for (const b of data.batches('code', 5)) {
      const l = tf.tidy(() => model.loss(tf.tensor2d(b.tokens, [rows, width], 'int32')));
      sum += l.dataSync()[0]!;
      l.dispose();
    }
    assert.equal(r.code!.tokens, 2 * rows * (width - 1));
    assert.ok(Math.abs(r.code!.loss - sum / 2) < 1e-5, `${r.code!.loss} vs model.loss ${sum / 2}`);
    assert.ok(Math.abs(r.code!.bpb! - r.code!.loss / Math.LN2 / 2) < 1e-12, 'bytes-per-token fallback');
    const exact = await evaluateValidation(model, data, ['code'], 5, { tokenBytes: (id) => (id % 2) + 1 });
    let bytes = 0;
    for (const b of data.batches('code', 5)) for (let rI = 0; rI < rows; ++rI) for (let j = 1; j < width; ++j) bytes += (b.tokens[rI * width + j]! % 2) + 1;
    assert.ok(Math.abs(exact.code!.bpb! - (exact.code!.loss * exact.code!.tokens) / Math.LN2 / bytes) < 1e-9, 'exact bytes');
  } finally {
    model.dispose();
  }
});

/** The model seen only through forward(): the evaluator's reference path (logits + softmaxCrossEntropy). */
function logitsOnly(model: LogitModel): LogitModel {
  return { config: model.config!, forward: (t) => model.forward(t) };
}

for (const arch of ['deltanet', 'mamba'] as const) {
  test(`${arch}: the streamed per-token NLL path gives the logits path's per-token NLL and summary within 1e-5`, () => {
    const V = 96;
    const config = modelConfigFromRecipe({ arch, size: 'tiny', allow_neg_eigval: arch === 'mamba', vocab_size: V });
    const model = initModel(config, 7);
    try {
      // Per-token NLL of one batch of windows, both paths.
      const B = 3, T = 40;
      const rows = stream(B * (T + 1), V, 9);
      const fast = tokenLosses(model, rows, B, T), ref = tokenLosses(logitsOnly(model), rows, B, T);
      assert.equal(fast.length, B * T);
      for (let i = 0; i < ref.length; ++i) assert.ok(Math.abs(fast[i]! - ref[i]!) <= 1e-5 * ref[i]!, `token ${i}: ${fast[i]} vs ${ref[i]}`);
      // The evaluator: strided windows of two lengths (the last is shorter), two bucket bounds, exact bytes.
      let forwards = 0, streamed = 0;
      const counted: LogitModel = {
        config: model.config,
        forward: (t) => (++forwards, model.forward(t)),
        tokenLosses: (t) => (++streamed, model.tokenLosses(t)),
      };
      const opts = { batchSize: 4, buckets: [8, 24], tokenBytes: (id: number) => (id % 3) + 1 };
      const s = stream(517, V, 2);
      const before = tf.memory().numTensors;
      const a = evaluatePerplexity(counted, makeWindows(s, 32, 24), opts);
      assert.equal(tf.memory().numTensors, before, 'no tensors leaked');
      assert.equal(forwards, 0, 'the evaluator never asks a model with tokenLosses for its logits');
      assert.ok(streamed > 1);
      const b = evaluatePerplexity(logitsOnly(model), makeWindows(s, 32, 24), opts);
      assert.equal(a.tokens, b.tokens);
      assert.equal(a.windows, b.windows);
      assert.equal(a.bytes, b.bytes);
      const rel = (x: number, y: number) => Math.abs(x - y) / Math.abs(y);
      for (const k of ['nll', 'loss', 'ppl', 'bpb'] as const) assert.ok(rel(a[k]!, b[k]!) <= 1e-5, `${k}: ${a[k]} vs ${b[k]}`);
      assert.equal(a.buckets.length, 3);
      a.buckets.forEach((bk, i) => {
        assert.equal(bk.tokens, b.buckets[i]!.tokens);
        assert.ok(bk.tokens > 0 && rel(bk.loss, b.buckets[i]!.loss) <= 1e-5 && rel(bk.ppl, b.buckets[i]!.ppl) <= 1e-5, `bucket ${i}: ${bk.ppl} vs ${b.buckets[i]!.ppl}`);
      });
    } finally {
      model.dispose();
    }
  });
}

