// The safetensors container (docs/checkpoint-format.md §2): an 8-byte little-endian header length, a JSON header,
// then raw row-major tensor bytes. Writing produces the canonical form (sorted names, keys dtype/shape/
// data_offsets, `__metadata__` last, no whitespace, space padding to a multiple of 8), so two correct writers
// give byte-identical files. Reading validates everything a truncated or hand-edited file could get wrong,
// and every error names the file and, where there is one, the tensor.
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';

/** A tensor as read or written: float data always arrives as Float32Array, integer data as Int32Array. */
export interface StTensor {
  dtype: string;
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface StFile {
  tensors: Map<string, StTensor>;
  metadata: Record<string, string>;
}

const MAX_HEADER = 100_000_000;
const BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** Thrown for any malformed, truncated or inconsistent file; the message names file and tensor. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

function numel(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Parses a whole safetensors file held in memory. `file` is only used in error messages. */
export function parseSafetensors(buf: Uint8Array, file = '<buffer>'): StFile {
  const fail = (msg: string): never => {
    throw new SafetensorsError(`${file}: ${msg}`);
  };
  if (buf.byteLength < 8) fail(`truncated: ${buf.byteLength} bytes, fewer than the 8-byte header length`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n64 = dv.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER)) fail(`header length ${n64} exceeds the 100,000,000-byte limit (corrupted header?)`);
  const n = Number(n64);
  if (8 + n > buf.byteLength) fail(`truncated: header length ${n} but only ${buf.byteLength - 8} bytes follow`);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(buf.subarray(8, 8 + n));
  if (!text.startsWith('{')) fail('corrupted header: does not start with "{"');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`corrupted header: invalid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('corrupted header: not a JSON object');
  const dataStart = 8 + n;
  const dataLen = buf.byteLength - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw as object)) {
        if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const where = `tensor '${name}'`;
    if (typeof e !== 'object' || e === null) fail(`${where}: entry is not an object`);
    if (typeof e.dtype !== 'string' || !(e.dtype in BYTES)) fail(`${where}: unsupported dtype ${JSON.stringify(e.dtype)}`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`${where}: bad shape ${JSON.stringify(e.shape)}`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[0] > off[1]) {
      fail(`${where}: bad data_offsets ${JSON.stringify(off)}`);
    }
    const [begin, end] = off as [number, number];
    const shape = e.shape as number[];
    const want = numel(shape) * BYTES[e.dtype as string]!;
    if (end - begin !== want) fail(`${where}: data_offsets span ${end - begin} bytes but ${e.dtype} [${shape}] needs ${want}`);
    if (end > dataLen) fail(`${where}: truncated: data ends at byte ${end} but the data section has ${dataLen} bytes`);
    entries.push({ name, dtype: e.dtype as string, shape, begin, end });
  }
  // JSON.parse keeps only the last of duplicated keys; count the entries in the raw text to notice them.
  const declared = text.match(/"data_offsets"/g)?.length ?? 0;
  if (declared !== entries.length) fail(`corrupted header: ${declared} data_offsets for ${entries.length} distinct tensor names (duplicated tensor?)`);
  // The tensors must tile the data section exactly: no gaps, overlaps or trailing bytes.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const e of sorted) {
    if (e.begin !== pos) fail(`tensor '${e.name}': starts at byte ${e.begin}, expected ${pos} (${e.begin < pos ? 'overlap' : 'gap'} in the data section)`);
    pos = e.end;
  }
  if (pos !== dataLen) fail(`${dataLen - pos} trailing bytes after the last tensor (corrupted or wrong header)`);

  const tensors = new Map<string, StTensor>();
  for (const e of entries) {
    const count = numel(e.shape);
    const at = dataStart + e.begin;
    const bytes = buf.subarray(at, dataStart + e.end);
    let data: Float32Array | Int32Array;
    switch (e.dtype) {
      case 'F32':
        data = new Float32Array(count);
        new Uint8Array(data.buffer).set(bytes);
        break;
      case 'F64':
        data = new Float32Array(count);
        for (let i = 0; i < count; ++i) data[i] = dv.getFloat64(at + 8 * i, true);
        break;
      case 'F16':
        data = new Float32Array(count);
        for (let i = 0; i < count; ++i) data[i] = f16ToF32(dv.getUint16(at + 2 * i, true));
        break;
      case 'BF16': {
        data = new Float32Array(count);
        const u = new Uint32Array(data.buffer);
        for (let i = 0; i < count; ++i) u[i] = dv.getUint16(at + 2 * i, true) << 16;
        break;
      }
      case 'I64':
        data = new Int32Array(count);
        for (let i = 0; i < count; ++i) {
          const v = dv.getBigInt64(at + 8 * i, true);
          if (v > 2147483647n || v < -2147483648n) fail(`tensor '${e.name}': I64 value ${v} does not fit in int32`);
          data[i] = Number(v);
        }
        break;
      case 'I32':
        data = new Int32Array(count);
        for (let i = 0; i < count; ++i) data[i] = dv.getInt32(at + 4 * i, true);
        break;
      case 'I16':
        data = new Int32Array(count);
        for (let i = 0; i < count; ++i) data[i] = dv.getInt16(at + 2 * i, true);
        break;
      case 'I8':
        data = Int32Array.from(new Int8Array(bytes.buffer, bytes.byteOffset, count));
        break;
      default: // U8, BOOL
        data = Int32Array.from(bytes);
    }
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}

/** Reads and validates a safetensors file. */
export function readSafetensors(file: string): StFile {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new SafetensorsError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseSafetensors(buf, file);
}

/** Tensors to write: F32 data with its shape (the dtype written is always F32 in this format version). */
export type StInput = Map<string, { shape: number[]; data: Float32Array }> | Record<string, { shape: number[]; data: Float32Array }>;

/** The canonical-form bytes of a safetensors file holding `tensors` (F32) and `metadata` (format "pt" added). */
export function serializeSafetensors(tensors: StInput, metadata: Record<string, string> = {}): Buffer[] {
  const map = tensors instanceof Map ? tensors : new Map(Object.entries(tensors));
  const names = [...map.keys()].sort();
  const header: Record<string, unknown> = {};
  let off = 0;
  for (const name of names) {
    const t = map.get(name)!;
    if (t.data.length !== numel(t.shape)) throw new SafetensorsError(`tensor '${name}': ${t.data.length} values for shape [${t.shape}]`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [off, off + 4 * t.data.length] };
    off += 4 * t.data.length;
  }
  header['__metadata__'] = { format: 'pt', ...metadata };
  const h0 = Buffer.from(JSON.stringify(header), 'utf8');
  const h = Buffer.concat([h0, Buffer.alloc((8 - (h0.length % 8)) % 8, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  const parts: Buffer[] = [len, h];
  const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  for (const name of names) {
    const d = map.get(name)!.data;
    if (littleEndian) parts.push(Buffer.from(d.buffer, d.byteOffset, d.byteLength));
    else {
      const b = Buffer.alloc(d.byteLength);
      for (let i = 0; i < d.length; ++i) b.writeFloatLE(d[i]!, 4 * i);
      parts.push(b);
    }
  }
  return parts;
}

/** Writes a safetensors file and fsyncs it (the caller handles atomic placement; see models/checkpoint.ts). */
export function writeSafetensors(file: string, tensors: StInput, metadata: Record<string, string> = {}): void {
  const fd = openSync(file, 'w');
  try {
    for (const p of serializeSafetensors(tensors, metadata)) {
      let done = 0;
      while (done < p.byteLength) done += writeSync(fd, p, done, p.byteLength - done);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
