// A user .txt file is read in pieces into exactly the documents the whole-file read made: chunkTextStream
// equals chunkText on random texts (words, blank lines, \r\n, long lines without spaces, astral characters
// where cuts fall) for several targets and piece sizes, also read from files 1–7 bytes at a time so that
// characters and \r\n straddle reads; invalid UTF-8 found chunk by chunk gives the whole-file message, and an
// invalid file yields no document (one counted skip with skipBad).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { chunkText, chunkTextStream } from './chunk_text.ts';
import { decodeUtf8, textPieces, userDocuments, utf8ErrorOfFile } from './documents.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'lrnn-txt-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** mulberry32: a seeded generator, so a failure reproduces. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ATOMS = ['word', 'the', 'é', '日本', '😀', '🎉x', ' ', ' ', '. ', '.', '\n', '\n\n', '\r\n', '\r\n\r\n', '\r', '\n\r', 'a.b'];

function randomText(r: () => number, len: number): string {
  let s = '';
  while (s.length < len) {
    const x = r();
    if (x < 0.06) s += 'x'.repeat(1 + Math.floor(r() * 80)); // a long line without spaces
    else if (x < 0.12) s += '😀'.repeat(1 + Math.floor(r() * 40)); // astral run: fallback cuts land in it
    else s += ATOMS[Math.floor(r() * ATOMS.length)]!;
  }
  return s;
}

/** Cuts s into pieces of 0..max UTF-16 units (surrogate pairs split too). */
function randomPieces(s: string, r: () => number, max: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; ) {
    const n = Math.floor(r() * (max + 1));
    out.push(s.slice(i, i + n));
    i += n;
  }
  return out;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const TARGETS = [1, 2, 3, 5, 8, 33, 100, 1000, Number.POSITIVE_INFINITY];

test('chunkTextStream cuts text arriving in pieces exactly as chunkText cuts the whole text', async () => {
  const r = rng(17);
  let surrogateBumps = 0, cuts = 0;
  for (let i = 0; i < 40; ++i) {
    const text = randomText(r, Math.floor(r() * 1500));
    for (const target of TARGETS) {
      const want = chunkText(text, target);
      cuts += want.length - 1;
      // A piece of 2·target + 1 units is a fallback cut moved past a high surrogate: the pair rule is exercised.
      surrogateBumps += want.filter((p, k) => k < want.length - 1 && p.length === 2 * target + 1).length;
      for (const max of [1, 7, 64]) assert.deepEqual(await collect(chunkTextStream(randomPieces(text, r, max), target)), want, `text ${i}, target ${target}, pieces ≤ ${max}`);
      assert.deepEqual(await collect(chunkTextStream([text], target)), want, `text ${i}, target ${target}, one piece`);
    }
  }
  assert.ok(cuts > 3000 && surrogateBumps > 30, `${cuts} cuts, ${surrogateBumps} at a surrogate pair`);
  assert.deepEqual(await collect(chunkTextStream([], 10)), []);
  assert.deepEqual(await collect(chunkTextStream(['', ''], 10)), []);
});

test('a .txt file read 1–7 bytes at a time decodes, normalises \\r\\n and cuts as the whole file did', async () => {
  const r = rng(5);
  const file = path.join(tmp, 'pieces.txt');
  const texts = ['a\r\nb\r\r\n\r', '\r', '\r\n', '😀\r\n😀\r', 'é\r\n\r\n日本\n\r\n', ''];
  for (let i = 0; i < 24; ++i) texts.push(randomText(r, Math.floor(r() * 600)));
  for (const [i, text] of texts.entries()) {
    writeFileSync(file, text);
    const whole = text.replace(/\r\n/g, '\n');
    for (const chunkBytes of [1 + (i % 7), 1 + ((i + 3) % 7), 1 << 16]) {
      let bytes = 0;
      const target = TARGETS[(i + chunkBytes) % TARGETS.length]!;
      const docs = await collect(chunkTextStream(textPieces(file, (n) => (bytes += n), chunkBytes), target));
      assert.deepEqual(docs, chunkText(whole, target), `text ${i}, ${chunkBytes}-byte reads, target ${target}`);
      assert.equal(bytes, Buffer.byteLength(text));
    }
  }
});

test('invalid UTF-8 found chunk by chunk: the whole-file message (file, line, byte), whatever the chunk size', async () => {
  const r = rng(11);
  const BAD = [[0xff], [0x80], [0xc0, 0x80], [0xc3], [0xe6, 0x97], [0xe6, 0x97, 0x0a], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf0, 0x9f, 0x98], [0xf0, 0x9f, 0x98, 0x41]];
  const file = path.join(tmp, 'bad-utf8.txt');
  let invalid = 0;
  for (let i = 0; i < 40; ++i) {
    const a = Buffer.from(randomText(r, Math.floor(r() * 60)));
    const b = Buffer.from(randomText(r, Math.floor(r() * 60)));
    // Mostly a bad sequence between two valid texts or at the very end; sometimes none.
    const bad = i % 6 === 5 ? [] : BAD[i % BAD.length]!;
    const bytes = Buffer.concat([a, Buffer.from(bad), i % 3 === 2 ? Buffer.alloc(0) : b]);
    writeFileSync(file, bytes);
    let want: string | null = null;
    try {
      decodeUtf8(bytes, file);
    } catch (err) {
      want = (err as Error).message;
      ++invalid;
    }
    for (const chunkBytes of [1, 2, 3, 4, 5, 6, 7, 1 << 16]) assert.equal(await utf8ErrorOfFile(file, chunkBytes), want, `case ${i}, ${chunkBytes}-byte reads`);
  }
  assert.equal(invalid, 34);
});

test('a .txt file several documents long: the same documents as the whole-file read; invalid, it yields nothing', async () => {
  const r = rng(23);
  const dir = path.join(tmp, 'user');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  const good = path.join(dir, 'big.txt');
  const text = randomText(r, 300_000); // several 64 KB reads, ~90 documents of 1000 and ~6 of the default 32768
  writeFileSync(good, text);
  const whole = text.replace(/\r\n/g, '\n');
  for (const chunkChars of [1000, undefined]) {
    let bytes = 0;
    const docs = (await collect(userDocuments([good], { root: dir, chunkChars, onBytes: (n) => (bytes += n) }))).map((d) => [d.docId, d.source, d.text]);
    const want = chunkText(whole, chunkChars);
    assert.ok(want.length >= 5, `${want.length} documents`);
    assert.deepEqual(docs, want.map((t, k) => [`big.txt#${k}`, 'user:big.txt', t]));
    assert.equal(bytes, statSync(good).size);
  }

  // Invalid near the end: an error before any document, with the whole-file message; skipped, it adds nothing.
  const bad = path.join(dir, 'late-bad.txt');
  const bytes = Buffer.concat([Buffer.from(text), Buffer.from([0xe9]), Buffer.from(' the end\n')]);
  writeFileSync(bad, bytes);
  let message = '';
  try {
    decodeUtf8(bytes, bad);
  } catch (err) {
    message = (err as Error).message;
  }
  assert.match(message, /late-bad\.txt: not valid UTF-8 at line \d+ \(byte \d+: 0xe9\)/);
  const seen: string[] = [];
  await assert.rejects(
    (async () => { for await (const d of userDocuments([bad], { chunkChars: 1000 })) seen.push(d.docId); })(),
    (e: Error) => e.name === 'BadInputError' && e.message === message,
  );
  assert.deepEqual(seen, []);
  const skipped = { count: 0 };
  const logs: string[] = [];
  let read = 0;
  const docs = await collect(userDocuments([bad, good], { root: dir, chunkChars: 1000, skipBad: true, skipped, log: (m) => logs.push(m), onBytes: (n) => (read += n) }));
  assert.equal(skipped.count, 1);
  assert.deepEqual(logs, [`skip: ${message}`]);
  assert.deepEqual(docs.map((d) => d.text), chunkText(whole, 1000));
  assert.ok(docs.every((d) => d.docId.startsWith('big.txt#')));
  assert.equal(read, statSync(good).size);
});
