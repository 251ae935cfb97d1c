// Shard round trips (text and List<Int32> tokens), and bad input: truncated/corrupt shards, non-UTF-8 files,
// malformed JSONL lines — clear errors naming file and row, or counted skips with skipBad.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { RecordBatchFileWriter, RecordBatchStreamWriter, tableFromArrays, vectorFromArray, Utf8, Table } from 'apache-arrow';
import { chunkText, firstInvalidUtf8, listUserFiles, userDocuments } from './documents.ts';
import { readTextShard, readTokenShard, writeTextShard, writeTokenShard, sha256File } from './shards.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'lrnn-shards-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const rows = Array.from({ length: 2500 }, (_, i) => ({ text: `doc ${i} ${'é😀日'.repeat(i % 5)}\u0000${i % 3 ? 'x' : ''}`, source: `s${i % 2}`, docId: `d${i}` }));

test('text shard round trip keeps every row, source and id; manifest facts are right', async () => {
  const file = path.join(tmp, 'text.arrows');
  const info = await writeTextShard(file, rows, { domain: 'x', split: 'train' });
  assert.equal(info.rows, rows.length);
  assert.equal(info.sha256, await sha256File(file));
  assert.equal(info.textBytes, rows.reduce((a, r) => a + Buffer.byteLength(r.text), 0));
  const back = [];
  for await (const r of readTextShard(file, { expectRows: rows.length })) back.push(r);
  assert.deepEqual(back.map(({ text, source, docId }) => ({ text, source, docId })), rows);
  assert.deepEqual(back.map((r) => r.row), rows.map((_, i) => i));
});

test('token shard round trip (List<Int32>, empty documents included)', async () => {
  const docs = Array.from({ length: 3000 }, (_, i) => Int32Array.from({ length: i % 9 }, (_, j) => (i * 31 + j) % 8192));
  const file = path.join(tmp, 'tok.arrows');
  const info = await writeTokenShard(file, docs, docs.map((_, i) => `d${i}`));
  assert.equal(info.tokens, docs.reduce((a, d) => a + d.length, 0));
  let n = 0;
  for await (const b of readTokenShard(file, { expectRows: docs.length })) {
    for (let i = 0; i < b.rows; ++i, ++n) assert.deepEqual(Array.from(b.values.subarray(b.offsets[i]!, b.offsets[i + 1]!)), Array.from(docs[b.firstRow + i]!), `row ${b.firstRow + i}`);
  }
  assert.equal(n, docs.length);
});

async function drain(it: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of it) ++n;
  return n;
}

test('truncated, corrupt and short shards are errors naming the file', async () => {
  const good = path.join(tmp, 'good.arrows');
  await writeTextShard(good, rows);
  const trunc = path.join(tmp, 'trunc.arrows');
  copyFileSync(good, trunc);
  truncateSync(trunc, 20000);
  await assert.rejects(drain(readTextShard(trunc)), (e: Error) => e.message.includes(trunc) && /truncated/.test(e.message));
  const empty = path.join(tmp, 'empty.arrows');
  writeFileSync(empty, '');
  await assert.rejects(drain(readTextShard(empty)), (e: Error) => e.message.includes(empty) && /truncated or empty/.test(e.message));
  const garbage = path.join(tmp, 'garbage.arrows');
  const buf = readFileSync(good);
  buf.fill(0x41, 0, 64);
  writeFileSync(garbage, buf);
  await assert.rejects(drain(readTextShard(garbage)), (e: Error) => e.message.includes(garbage) && /row 0/.test(e.message));
  await assert.rejects(drain(readTextShard(good, { expectRows: rows.length + 1 })), (e: Error) => e.message.includes(good) && /manifest records 2501/.test(e.message));
  await assert.rejects(drain(readTokenShard(good)), (e: Error) => e.message.includes(good) && /tokens/.test(e.message));
});

test('user data: .txt, .jsonl, .arrow and .arrows files are read; ids are file#row', async () => {
  const dir = path.join(tmp, 'user');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(path.join(dir, 'sub'), { recursive: true });
  writeFileSync(path.join(dir, 'a.txt'), 'hello world\n');
  writeFileSync(path.join(dir, 'sub', 'b.jsonl'), '{"text":"one"}\n\n{"text":"two","meta":1}\n');
  const t = new Table({ text: vectorFromArray(['x1', 'x2'], new Utf8()) });
  writeFileSync(path.join(dir, 'c.arrows'), RecordBatchStreamWriter.writeAll(t).toUint8Array(true));
  writeFileSync(path.join(dir, 'd.arrow'), RecordBatchFileWriter.writeAll(tableFromArrays({ text: ['f1'] }) as Table).toUint8Array(true));
  writeFileSync(path.join(dir, 'ignored.md'), 'not data');
  const files = listUserFiles([dir]);
  assert.deepEqual(files.map((f) => path.relative(dir, f)), ['a.txt', 'c.arrows', 'd.arrow', 'sub/b.jsonl']);
  const docs = [];
  for await (const d of userDocuments(files, { root: dir })) docs.push([d.docId, d.text]);
  assert.deepEqual(docs, [['a.txt#0', 'hello world\n'], ['c.arrows#0', 'x1'], ['c.arrows#1', 'x2'], ['d.arrow#0', 'f1'], ['sub/b.jsonl#1', 'one'], ['sub/b.jsonl#3', 'two']]);
});

test('user data: .parquet is read a row group at a time (column text); a corrupt file names the file', async () => {
  const { parquetWriteFile } = await import('hyparquet-writer');
  const file = path.join(tmp, 'p.parquet');
  const texts = Array.from({ length: 250 }, (_, i) => `row ${i} ${'日本😀'.repeat(i % 3)}`);
  parquetWriteFile({ filename: file, columnData: [{ name: 'text', data: texts, type: 'STRING' }, { name: 'n', data: texts.map((_, i) => i), type: 'INT32' }], rowGroupSize: 100 });
  const got = [];
  for await (const d of userDocuments([file])) got.push([d.docId, d.text]);
  assert.deepEqual(got, texts.map((t, i) => [`${file}#${i}`, t]));
  const broken = path.join(tmp, 'broken.parquet');
  writeFileSync(broken, readFileSync(file).subarray(0, 100));
  await assert.rejects(drain(userDocuments([broken])), (e: Error) => e.message.includes(broken) && /Parquet/.test(e.message));
});

test('bad user input: non-UTF-8 file and malformed JSONL name file and row; skipBad counts and logs', async () => {
  const bad = path.join(tmp, 'latin1.txt');
  writeFileSync(bad, Buffer.concat([Buffer.from('line one\nline two caf'), Buffer.from([0xe9]), Buffer.from('\n')]));
  await assert.rejects(drain(userDocuments([bad])), (e: Error) => e.message.includes(bad) && /line 2/.test(e.message) && /UTF-8/.test(e.message));
  const jl = path.join(tmp, 'bad.jsonl');
  writeFileSync(jl, '{"text":"ok"}\n{"text": "broken\n{"nope":1}\n{"text":"fine"}\n');
  await assert.rejects(drain(userDocuments([jl])), (e: Error) => e.message.includes(jl) && /line 2/.test(e.message) && /malformed JSON/.test(e.message));
  const skipped = { count: 0 };
  const logs: string[] = [];
  const texts = [];
  for await (const d of userDocuments([jl, bad], { skipBad: true, skipped, log: (m) => logs.push(m) })) texts.push(d.text);
  assert.deepEqual(texts, ['ok', 'fine']);
  assert.equal(skipped.count, 3);
  assert.ok(logs.some((l) => /line 3: no string 'text'/.test(l)));
  assert.throws(() => listUserFiles([path.join(tmp, 'nope')]), /no such file/);
});

test('UTF-8 validation and chunking', () => {
  assert.equal(firstInvalidUtf8(Buffer.from('héllo 😀')), -1);
  assert.equal(firstInvalidUtf8(Buffer.from([0x61, 0xc3])), 1);
  assert.equal(firstInvalidUtf8(Buffer.from([0x61, 0xed, 0xa0, 0x80])), 1); // encoded surrogate
  assert.equal(firstInvalidUtf8(Buffer.from([0xc0, 0x80])), 0); // overlong
  const text = Array.from({ length: 400 }, (_, i) => `paragraph ${i} ${'word '.repeat(i % 50)}\n\n`).join('') + 'x'.repeat(5000) + '😀'.repeat(3000);
  const parts = chunkText(text, 1000);
  assert.equal(parts.join(''), text);
  assert.ok(parts.length > 10);
  assert.ok(parts.every((p) => p.length <= 2001));
  assert.ok(parts.every((p) => firstInvalidUtf8(Buffer.from(p)) === -1 && !/^[\udc00-\udfff]/.test(p)));
});

test('JSON lines split exactly as readline splits them (\\n, \\r\\n, lone \\r), whatever the chunk size', async () => {
  const { createInterface } = await import('node:readline');
  const { createReadStream } = await import('node:fs');
  const { jsonLines } = await import('./documents.ts');
  const file = path.join(tmp, 'lines.jsonl');
  writeFileSync(file, '{"text":"a"}\n{"text":"b é"}\r\n\r\n{"text":"c"}\r{"text":"d😀"}\n\n  \n{"text":"e"}\r\n{"text":"f"}\r{"text":"no newline at the end"}');
  const want: string[] = [];
  for await (const l of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) want.push(l);
  for (const chunk of [1, 2, 3, 7, 64, 1 << 20]) {
    const got: string[] = [];
    let n = 0;
    for await (const { raw, line } of jsonLines(file, undefined, chunk)) {
      got.push(raw);
      assert.equal(line, ++n);
    }
    assert.deepEqual(got, want, `chunk ${chunk}`);
  }
});

test('--text-column: another JSON field / Parquet or Arrow column holds the text; a missing one is named', async () => {
  const dir = path.join(tmp, 'column');
  const { mkdirSync } = await import('node:fs');
  const { parquetWriteFile } = await import('hyparquet-writer');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'a.jsonl'), '{"body":"j1","text":"not this"}\n{"body":"j2"}\n');
  writeFileSync(path.join(dir, 'b.arrows'), RecordBatchStreamWriter.writeAll(tableFromArrays({ body: ['s1', 's2'] }) as Table).toUint8Array(true));
  writeFileSync(path.join(dir, 'c.arrow'), RecordBatchFileWriter.writeAll(tableFromArrays({ body: ['f1'] }) as Table).toUint8Array(true));
  parquetWriteFile({ filename: path.join(dir, 'd.parquet'), columnData: [{ name: 'body', data: ['p1', 'p2'], type: 'STRING' }] });
  const files = listUserFiles([dir]);
  const got = [];
  for await (const d of userDocuments(files, { root: dir, textField: 'body' })) got.push([d.docId, d.text]);
  assert.deepEqual(got, [['a.jsonl#1', 'j1'], ['a.jsonl#2', 'j2'], ['b.arrows#0', 's1'], ['b.arrows#1', 's2'], ['c.arrow#0', 'f1'], ['d.parquet#0', 'p1'], ['d.parquet#1', 'p2']]);
  for (const f of files.slice(1)) await assert.rejects(drain(userDocuments([f])), (e: Error) => e.message.includes(f) && /no 'text' column/.test(e.message) && /--text-column/.test(e.message));
  await assert.rejects(drain(userDocuments([files[0]!], { textField: 'nope' })), /line 1: no string 'nope' field/);
});

test('a Parquet row group larger than the slice size is read in row slices, with the same rows', async () => {
  const { parquetWriteFile } = await import('hyparquet-writer');
  const file = path.join(tmp, 'big-groups.parquet');
  const texts = Array.from({ length: 500 }, (_, i) => `row ${i} ${'abc '.repeat(i % 40)}`);
  parquetWriteFile({ filename: file, columnData: [{ name: 'text', data: texts, type: 'STRING' }], rowGroupSize: 300 });
  let bytes = 0;
  const got = [];
  for await (const d of userDocuments([file], { parquetSliceBytes: 2000, onBytes: (n) => (bytes += n) })) got.push(d.text);
  assert.deepEqual(got, texts);
  assert.ok(bytes > 0);
});

test('gzip text shards and uint16/uint32 token shards round trip; a truncated gzip shard is an error naming it', async () => {
  const file = path.join(tmp, 'text.arrows.gz');
  const info = await writeTextShard(file, rows, {}, { gzip: true });
  assert.equal(info.sha256, await sha256File(file));
  assert.equal(info.bytes, readFileSync(file).length);
  assert.ok(info.bytes < info.textBytes!, 'compressed');
  const back = [];
  for await (const r of readTextShard(file, { expectRows: rows.length })) back.push({ text: r.text, source: r.source, docId: r.docId });
  assert.deepEqual(back, rows);
  const cut = path.join(tmp, 'cut.arrows.gz');
  writeFileSync(cut, readFileSync(file).subarray(0, Math.floor(info.bytes / 2)));
  await assert.rejects(drain(readTextShard(cut)), (e: Error) => e.message.includes(cut) && /truncated/.test(e.message));
  for (const [dtype, T, max] of [['uint16', Uint16Array, 65535], ['uint32', Uint32Array, 100000]] as const) {
    const docs = Array.from({ length: 1500 }, (_, i) => new T(Array.from({ length: i % 7 }, (_, j) => (i * 977 + j * 13) % (max + 1))));
    const f = path.join(tmp, `tok-${dtype}.arrows`);
    await writeTokenShard(f, docs, docs.map((_, i) => `d${i}`), {}, dtype);
    let n = 0;
    for await (const b of readTokenShard(f, { expectRows: docs.length })) {
      assert.ok(b.values instanceof T);
      for (let i = 0; i < b.rows; ++i, ++n) assert.deepEqual(Array.from(b.values.subarray(b.offsets[i]!, b.offsets[i + 1]!)), Array.from(docs[b.firstRow + i]!));
    }
    assert.equal(n, docs.length);
  }
});
