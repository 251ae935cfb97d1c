// Turns source files and user data into documents (text rows with a stable id): strict UTF-8 decoding
// (Latin-1 only where a source says so), chunking of long files at blank lines, and readers for user data
// (.txt, .jsonl with a `text` field, .parquet, .arrow/.arrows; `textField` names another field or column).
// Every reader streams: .txt in 64 KB pieces (checked as UTF-8 in a first pass, then decoded and cut into
// documents as it is read), JSON lines chunk by chunk, Parquet by row group (large row groups in row slices),
// Arrow by record batch, so memory never holds a whole input file. Bad input is an error naming file and row,
// or, with `skipBad`, a counted and logged skip.
import { promises as fsp, readdirSync, statSync, createReadStream } from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { RecordBatchReader, type RecordBatch } from 'apache-arrow';
import { chunkText, chunkTextStream } from './chunk_text.ts';
import type { TextRow } from './shards.ts';
import type { FetchedSource } from './sources.ts';

export { chunkText, chunkTextStream } from './chunk_text.ts';

export class BadInputError extends Error {
  override name = 'BadInputError';
}

export interface DocOptions {
  /** Files longer than this are cut into documents of about this many characters at blank lines (default 32768). */
  chunkChars?: number;
  /** Skip bad rows/files (counted and logged) instead of failing. */
  skipBad?: boolean;
  log?: (msg: string) => void;
  /** Incremented for every skipped row or file. */
  skipped?: { count: number };
  /** The field (.jsonl) or column (.parquet, .arrow, .arrows) holding the text (default 'text'). */
  textField?: string;
  /** Called with the number of input bytes consumed since the last call (progress). */
  onBytes?: (n: number) => void;
  /** Parquet: a row group whose text column is larger than this is read in row slices (default 64 MB). */
  parquetSliceBytes?: number;
}

const MAX_LINE = 2000;
// A user .txt file is read in pieces of this many bytes (twice: UTF-8 check, then documents).
const TXT_CHUNK = 1 << 16;

/** Byte offset of the first invalid UTF-8 sequence, or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  const n = b.length;
  while (i < n) {
    const c = b[i]!;
    if (c < 0x80) { ++i; continue; }
    let need: number, min: number;
    if (c >= 0xc2 && c <= 0xdf) { need = 1; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { need = 2; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { need = 3; min = 0x10000; }
    else return i;
    let cp = c & (need === 1 ? 0x1f : need === 2 ? 0x0f : 0x07);
    for (let k = 1; k <= need; ++k) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

/** Decodes UTF-8 strictly; the error names the file, line and byte. */
export function decodeUtf8(buf: Uint8Array, file: string): string {
  const bad = firstInvalidUtf8(buf);
  if (bad >= 0) {
    throw new BadInputError(notUtf8(file, 1 + countNewlines(buf, 0, bad), bad, buf[bad]!));
  }
  return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('utf8');
}

function notUtf8(file: string, line: number, byte: number, value: number): string {
  return `${file}: not valid UTF-8 at line ${line} (byte ${byte}: 0x${value.toString(16)}); convert it (e.g. iconv -f latin1 -t utf-8) or pass --skip-bad`;
}

function countNewlines(b: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let i = b.indexOf(10, from); i >= 0 && i < to; i = b.indexOf(10, i + 1)) ++n;
  return n;
}

/**
 * What decodeUtf8 of the whole file would throw (null for valid UTF-8), found reading `chunkBytes` at a time:
 * a sequence cut by a chunk's end is judged with the next chunk, so offset and line are the whole file's.
 */
export async function utf8ErrorOfFile(file: string, chunkBytes = TXT_CHUNK): Promise<string | null> {
  let carry: Buffer | null = null; // at most 3 bytes: the start of a sequence the chunk cut
  let base = 0; // file offset of the current chunk's first byte (carry included)
  let line = 1; // its line
  for await (const chunk of createReadStream(file, { highWaterMark: chunkBytes })) {
    const b: Buffer = carry ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    carry = null;
    let ok = b.length;
    const bad = firstInvalidUtf8(b);
    if (bad >= 0) {
      // firstInvalidUtf8 decides at `bad` from at most 4 bytes: with fewer left, the chunk may have cut it.
      if (bad + 4 <= b.length) return notUtf8(file, line + countNewlines(b, 0, bad), base + bad, b[bad]!);
      carry = Buffer.from(b.subarray(bad));
      ok = bad;
    }
    line += countNewlines(b, 0, ok);
    base += ok;
  }
  // A sequence still open at the end of the file is what the whole-file check reports there.
  return carry ? notUtf8(file, line, base, carry[0]!) : null;
}

/**
 * The text of a valid UTF-8 file in pieces with \r\n made \n, read `chunkBytes` at a time: the decoder holds
 * back a character the chunk cut, and a \r at a piece's end waits for the next piece's first character.
 */
export async function* textPieces(file: string, onBytes?: (n: number) => void, chunkBytes = TXT_CHUNK): AsyncGenerator<string> {
  const dec = new StringDecoder('utf8');
  let cr = false;
  for await (const chunk of createReadStream(file, { highWaterMark: chunkBytes })) {
    onBytes?.((chunk as Buffer).length);
    let s = dec.write(chunk as Buffer);
    if (cr) s = '\r' + s;
    cr = s.endsWith('\r');
    if (cr) s = s.slice(0, -1);
    if (s) yield s.replace(/\r\n/g, '\n');
  }
  const rest = (cr ? '\r' : '') + dec.end();
  if (rest) yield rest.replace(/\r\n/g, '\n');
}

/** Drops lines longer than MAX_LINE (guards against embedded minified code). */
function dropLongLines(text: string): { text: string; dropped: number } {
  if (!/[^\n]{2001}/.test(text)) return { text, dropped: 0 };
  let dropped = 0;
  const kept = text.split('\n').filter((l) => (l.length > MAX_LINE ? (++dropped, false) : true));
  return { text: kept.join('\n'), dropped };
}

function skipOrThrow(msg: string, opts: DocOptions): void {
  if (!opts.skipBad) throw new BadInputError(msg);
  if (opts.skipped) opts.skipped.count++;
  opts.log?.(`skip: ${msg}`);
}

/** Documents of a fetched source, file by file, in file order. */
export async function* sourceDocuments(src: FetchedSource, opts: DocOptions = {}): AsyncGenerator<TextRow> {
  const tag = `${src.spec.name}@${src.record.version}`;
  for (const f of src.files) {
    const buf = await fsp.readFile(f.abs);
    let text: string;
    if (firstInvalidUtf8(buf) >= 0) {
      if (src.spec.latin1Fallback) {
        opts.log?.(`decode: ${src.spec.name}/${f.rel} is not UTF-8; reading it as Latin-1`);
        text = buf.toString('latin1');
      } else {
        try {
          text = decodeUtf8(buf, f.abs);
        } catch (err) {
          skipOrThrow((err as Error).message, opts);
          continue;
        }
      }
    } else text = buf.toString('utf8');
    text = text.replace(/\r\n/g, '\n');
    if (src.spec.transform) text = src.spec.transform(text, f.rel);
    const { text: clean, dropped } = src.spec.dropLongLines ? dropLongLines(text) : { text, dropped: 0 };
    if (dropped) opts.log?.(`clean: ${src.spec.name}/${f.rel}: dropped ${dropped} lines over ${MAX_LINE} chars`);
    const rel = f.rel.replace(/^package\//, '');
    opts.onBytes?.(buf.length);
    const chunks = chunkText(clean, opts.chunkChars);
    for (let k = 0; k < chunks.length; ++k) yield { text: chunks[k]!, source: tag, docId: `${src.spec.name}/${rel}#${k}` };
  }
}

const USER_EXT = /\.(txt|jsonl|parquet|arrow|arrows)$/i;

/** Expands user paths (files or folders, recursively) to the supported files, sorted. */
export function listUserFiles(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new BadInputError(`${p}: no such file or folder`);
    }
    if (st.isDirectory()) {
      const walk = (d: string) => {
        for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
          const q = path.join(d, e.name);
          if (e.isDirectory()) walk(q);
          else if (USER_EXT.test(e.name)) out.push(q);
        }
      };
      walk(p);
    } else if (USER_EXT.test(p)) out.push(p);
    else throw new BadInputError(`${p}: unsupported file type (expected .txt, .jsonl, .parquet, .arrow or .arrows)`);
  }
  if (out.length === 0) throw new BadInputError(`no .txt/.jsonl/.parquet/.arrow(s) files under ${paths.join(', ')}`);
  return out;
}

/** Documents of user files; `root` makes doc ids relative. */
export async function* userDocuments(files: string[], opts: DocOptions & { root?: string } = {}): AsyncGenerator<TextRow> {
  for (const file of files) {
    const rel = opts.root ? path.relative(opts.root, file) || path.basename(file) : file;
    const source = `user:${rel}`;
    const ext = path.extname(file).toLowerCase();
    if (ext === '.txt') {
      // Checked whole before the first document, so an invalid file yields nothing (as when read whole).
      const bad = await utf8ErrorOfFile(file);
      if (bad) {
        skipOrThrow(bad, opts);
        continue;
      }
      let k = 0;
      for await (const text of chunkTextStream(textPieces(file, opts.onBytes), opts.chunkChars)) yield { text, source, docId: `${rel}#${k++}` };
    } else if (ext === '.jsonl') {
      const field = opts.textField ?? 'text';
      for await (const { raw, line } of jsonLines(file, opts.onBytes)) {
        if (!raw.trim()) continue;
        if (raw.includes('\uFFFD')) {
          skipOrThrow(`${file}: line ${line}: not valid UTF-8`, opts);
          continue;
        }
        let obj: unknown;
        try {
          obj = JSON.parse(raw);
        } catch (err) {
          skipOrThrow(`${file}: line ${line}: malformed JSON (${(err as Error).message})`, opts);
          continue;
        }
        const text = (obj as Record<string, unknown> | null)?.[field];
        if (typeof text !== 'string') {
          skipOrThrow(`${file}: line ${line}: no string '${field}' field${field === 'text' ? ' (--text-column names another)' : ''}`, opts);
          continue;
        }
        if (text) yield { text, source, docId: `${rel}#${line}` };
      }
    } else if (ext === '.parquet') {
      yield* parquetDocuments(file, rel, source, opts);
    } else {
      yield* arrowDocuments(file, ext, rel, source, opts);
    }
  }
}

/**
 * Lines of a file as readline splits them (\n, \r\n or a lone \r ends a line), numbered from 1, read in
 * `chunkBytes` chunks — several times faster than readline on multi-GB JSON lines.
 */
export async function* jsonLines(file: string, onBytes?: (n: number) => void, chunkBytes = 4 << 20): AsyncGenerator<{ raw: string; line: number }> {
  let carry: Buffer | null = null;
  let line = 0;
  let afterCr = false; // the previous chunk ended in \r: a \n at the start of this one belongs to it
  const emit = function* (b: Buffer, a: number, e: number): Generator<{ raw: string; line: number }> {
    // A lone \r inside the segment also ends a line (readline's rule); rare, so look only when present.
    let cr = b.indexOf(13, a);
    while (cr >= 0 && cr < e) {
      yield { raw: b.toString('utf8', a, cr), line: ++line };
      a = cr + 1;
      cr = b.indexOf(13, a);
    }
    yield { raw: b.toString('utf8', a, e), line: ++line };
  };
  for await (const chunk of createReadStream(file, { highWaterMark: chunkBytes })) {
    let b = chunk as Buffer;
    onBytes?.(b.length);
    if (carry) {
      b = Buffer.concat([carry, b]);
      carry = null;
    }
    let a = 0;
    if (afterCr && b[0] === 10) a = 1;
    afterCr = false;
    for (;;) {
      const nl = b.indexOf(10, a);
      if (nl < 0) break;
      const e = nl > a && b[nl - 1] === 13 ? nl - 1 : nl;
      yield* emit(b, a, e);
      a = nl + 1;
    }
    if (a < b.length) {
      if (b[b.length - 1] === 13) {
        // Ends in \r: the line is complete (a following \n is skipped).
        yield* emit(b, a, b.length - 1);
        afterCr = true;
      } else carry = Buffer.from(b.subarray(a));
    }
  }
  if (carry && carry.length) yield* emit(carry, 0, carry.length);
}

async function* arrowDocuments(file: string, ext: string, rel: string, source: string, opts: DocOptions): AsyncGenerator<TextRow> {
  const field = opts.textField ?? 'text';
  let reader: AsyncIterable<RecordBatch>;
  try {
    if (ext === '.arrow') reader = (await RecordBatchReader.from(await fsp.open(file, 'r'))) as unknown as AsyncIterable<RecordBatch>;
    else {
      const raw = createReadStream(file, { highWaterMark: 1 << 20 });
      // Counted in a pass-through: a 'data' listener on the file stream would start it flowing unread.
      const onBytes = opts.onBytes;
      const input = onBytes
        ? raw.pipe(new Transform({ transform: (c: Buffer, _e, cb) => (onBytes(c.length), cb(null, c)) })).on('close', () => raw.destroy())
        : raw;
      raw.on('error', (err) => input.destroy(err));
      reader = (await RecordBatchReader.from(input)) as unknown as AsyncIterable<RecordBatch>;
    }
  } catch (err) {
    throw new BadInputError(`${file}: not a readable Arrow ${ext === '.arrow' ? 'IPC file' : 'IPC stream'}: ${(err as Error).message}`);
  }
  let row = 0;
  try {
    for await (const batch of reader) {
      const col = batch.getChild(field);
      if (!col) throw new BadInputError(`${file}: row ${row}: no '${field}' column (columns: ${batch.schema.fields.map((f) => f.name).join(', ')})${field === 'text' ? '; --text-column names another' : ''}`);
      if (ext === '.arrow') opts.onBytes?.(col.data.reduce((a, d) => a + (d.values?.byteLength ?? 0) + (d.valueOffsets?.byteLength ?? 0), 0));
      for (let i = 0; i < batch.numRows; ++i, ++row) {
        const t = col.get(i);
        if (typeof t !== 'string') skipOrThrow(`${file}: row ${row}: '${field}' is not a string`, opts);
        else if (t) yield { text: t, source, docId: `${rel}#${row}` };
      }
    }
  } catch (err) {
    if (err instanceof BadInputError) throw err;
    throw new BadInputError(`${file}: corrupt Arrow data after row ${row}: ${(err as Error).message}`);
  }
}

// Text decoded at once from one Parquet read: a row group whose text column is larger is read in row slices
// (with the offset index when the file has one, only the pages of the slice are fetched).
const PARQUET_SLICE_BYTES = 64e6;

async function* parquetDocuments(file: string, rel: string, source: string, opts: DocOptions): AsyncGenerator<TextRow> {
  const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } = await import('hyparquet');
  const { compressors } = await import('hyparquet-compressors');
  const field = opts.textField ?? 'text';
  let buf, metadata;
  try {
    buf = await asyncBufferFromFile(file);
    metadata = await parquetMetadataAsync(buf);
  } catch (err) {
    throw new BadInputError(`${file}: not a readable Parquet file: ${(err as Error).message}`);
  }
  if (!metadata.schema.slice(1).some((s) => s.name === field)) {
    throw new BadInputError(`${file}: no '${field}' column (columns: ${metadata.schema.slice(1).map((s) => s.name).join(', ')})${field === 'text' ? '; --text-column names another' : ''}`);
  }
  let start = 0;
  for (const rg of metadata.row_groups) {
    const n = Number(rg.num_rows);
    const chunk = rg.columns.find((c) => c.meta_data?.path_in_schema[0] === field)?.meta_data;
    const slices = Math.max(1, Math.ceil(Number(chunk?.total_uncompressed_size ?? 0) / (opts.parquetSliceBytes ?? PARQUET_SLICE_BYTES)));
    const step = Math.max(1, Math.ceil(n / slices));
    for (let a = 0; a < n; a += step) {
      const b = Math.min(n, a + step);
      let rows: Record<string, unknown>[];
      try {
        rows = (await parquetReadObjects({ file: buf, metadata, compressors, columns: [field], rowStart: start + a, rowEnd: start + b, useOffsetIndex: true })) as Record<string, unknown>[];
      } catch (err) {
        throw new BadInputError(`${file}: corrupt Parquet row group at row ${start + a}: ${(err as Error).message}`);
      }
      for (let i = 0; i < rows.length; ++i) {
        const t = rows[i]![field];
        if (typeof t !== 'string') skipOrThrow(`${file}: row ${start + a + i}: '${field}' is not a string`, opts);
        else if (t) yield { text: t, source, docId: `${rel}#${start + a + i}` };
      }
      opts.onBytes?.(Math.round((Number(chunk?.total_compressed_size ?? 0) * (b - a)) / Math.max(1, n)));
    }
    start += n;
  }
}
