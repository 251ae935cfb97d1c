// External sort of one domain's documents into the order prepare stores a split in — by (stable hash unit u,
// doc id), the order the in-memory prepare sorted by — in bounded memory. Documents are buffered up to a byte
// budget, sorted and spilled as runs; the runs are merged (in several passes when there are more than
// `fanIn`). A run is two files: `.keys` (per document: u as f64, text length, doc id, source) and `.text` (the
// UTF-8 texts back to back, in the same order), so a duplicate check and the tokenizer sample can read keys
// without texts. Equal ids hash to equal u and so end up adjacent in this order: duplicates are found while
// sorting and merging, without a set of every id. Files are read and written with synchronous buffered I/O:
// the caller's work between documents is CPU-bound anyway, and worker threads do the heavy part.
import { closeSync, existsSync, fstatSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Split } from './split.ts';

export interface SpillDoc {
  u: number;
  docId: string;
  source: string;
  /** UTF-8 text. */
  text: Uint8Array;
}

/** A run as spill.json records it; files are `<name>.keys` and `<name>.text` in the spill folder. */
export interface RunInfo {
  name: string;
  docs: number;
  keysBytes: number;
  textBytes: number;
}

export class DuplicateIdError extends Error {
  override name = 'DuplicateIdError';
  constructor(readonly docId: string) {
    super(`duplicate document id '${docId}'`);
  }
}

/** The stored order: by u, then by id (JS string order, as the in-memory sort used). 0 only for equal ids. */
export function compareKeys(au: number, aid: string, bu: number, bid: string): number {
  return au - bu || (aid < bid ? -1 : aid > bid ? 1 : 0);
}

const IO_CHUNK = 1 << 20;

class BufWriter {
  private readonly fd: number;
  private buf = Buffer.allocUnsafe(IO_CHUNK);
  private pos = 0;
  bytes = 0;
  constructor(readonly file: string) {
    this.fd = openSync(file, 'w');
  }
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
  }
  flush(): void {
    let o = 0;
    while (o < this.pos) o += writeSync(this.fd, this.buf, o, this.pos - o);
    this.pos = 0;
  }
  bytesOf(b: Uint8Array): void {
    if (b.length > IO_CHUNK) {
      this.flush();
      let o = 0;
      while (o < b.length) o += writeSync(this.fd, b, o, b.length - o);
    } else {
      this.room(b.length);
      this.buf.set(b, this.pos);
      this.pos += b.length;
    }
    this.bytes += b.length;
  }
  u32(n: number): void {
    this.room(4);
    this.buf.writeUInt32LE(n, this.pos);
    this.pos += 4;
    this.bytes += 4;
  }
  f64(x: number): void {
    this.room(8);
    this.buf.writeDoubleLE(x, this.pos);
    this.pos += 8;
    this.bytes += 8;
  }
  str(s: string): void {
    const n = Buffer.byteLength(s);
    this.u32(n);
    this.room(n);
    this.buf.write(s, this.pos, n, 'utf8');
    this.pos += n;
    this.bytes += n;
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

class BufReader {
  private readonly fd: number;
  readonly size: number;
  private buf = Buffer.allocUnsafe(IO_CHUNK);
  private start = 0; // file offset of buf[0]
  private pos = 0;
  private end = 0;
  constructor(readonly file: string) {
    this.fd = openSync(file, 'r');
    this.size = fstatSync(this.fd).size;
  }
  /** File offset of the next byte. */
  get offset(): number {
    return this.start + this.pos;
  }
  private ensure(n: number): void {
    if (this.end - this.pos >= n) return;
    const keep = this.end - this.pos;
    if (n > this.buf.length) {
      const nb = Buffer.allocUnsafe(Math.max(n, IO_CHUNK));
      this.buf.copy(nb, 0, this.pos, this.end);
      this.buf = nb;
    } else this.buf.copy(this.buf, 0, this.pos, this.end);
    this.start += this.pos;
    this.pos = 0;
    this.end = keep;
    while (this.end < n) {
      const got = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, this.start + this.end);
      if (got === 0) throw new Error(`${this.file}: ends at byte ${this.start + this.end}, expected ${n - this.end} more (the spill file is truncated; delete it and re-run)`);
      this.end += got;
    }
  }
  u32(): number {
    this.ensure(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  f64(): number {
    this.ensure(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }
  str(): string {
    const n = this.u32();
    this.ensure(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  /** Copies the next n bytes into a new buffer (or into `into` at `at`). */
  bytes(n: number, into?: Uint8Array, at = 0): Uint8Array {
    const out = into ?? new Uint8Array(n);
    let o = into ? at : 0;
    let left = n;
    while (left > 0) {
      if (this.pos === this.end) this.ensure(Math.min(left, IO_CHUNK));
      const k = Math.min(left, this.end - this.pos);
      out.set(this.buf.subarray(this.pos, this.pos + k), o);
      this.pos += k;
      o += k;
      left -= k;
    }
    return out;
  }
  skip(n: number): void {
    const inBuf = Math.min(n, this.end - this.pos);
    this.pos += inBuf;
    if (n > inBuf) {
      this.start += this.end + (n - inBuf);
      this.pos = this.end = 0;
      if (this.start > this.size) throw new Error(`${this.file}: ends at byte ${this.size}, before ${this.start} (the spill file is truncated; delete it and re-run)`);
    }
  }
  close(): void {
    closeSync(this.fd);
  }
}

/** Writes one run's two files. */
class RunWriter {
  private readonly keys: BufWriter;
  private readonly text: BufWriter;
  docs = 0;
  constructor(private readonly dir: string, readonly name: string) {
    this.keys = new BufWriter(path.join(dir, `${name}.keys`));
    this.text = new BufWriter(path.join(dir, `${name}.text`));
  }
  add(u: number, docId: string, source: string, text: Uint8Array): void {
    this.keys.f64(u);
    this.keys.u32(text.length);
    this.keys.str(docId);
    this.keys.str(source);
    this.text.bytesOf(text);
    this.docs++;
  }
  close(): RunInfo {
    this.keys.close();
    this.text.close();
    return { name: this.name, docs: this.docs, keysBytes: this.keys.bytes, textBytes: this.text.bytes };
  }
}

/** Reads one run in order: next() loads a document's key; its text is read with text() or skipped. */
export class RunReader {
  private readonly keys: BufReader;
  private readonly textFile: BufReader | null;
  private left: number;
  private pending = 0;
  u = 0;
  docId = '';
  source = '';
  textLen = 0;
  constructor(dir: string, readonly run: RunInfo, opts: { keysOnly?: boolean } = {}) {
    this.keys = new BufReader(path.join(dir, `${run.name}.keys`));
    this.textFile = opts.keysOnly ? null : new BufReader(path.join(dir, `${run.name}.text`));
    this.left = run.docs;
  }
  next(): boolean {
    if (this.pending) {
      this.textFile?.skip(this.pending);
      this.pending = 0;
    }
    if (this.left === 0) return false;
    this.left--;
    this.u = this.keys.f64();
    this.textLen = this.keys.u32();
    this.docId = this.keys.str();
    this.source = this.keys.str();
    this.pending = this.textLen;
    return true;
  }
  /** The current document's text (once per document). */
  text(into?: Uint8Array, at = 0): Uint8Array {
    if (!this.textFile) throw new Error('internal: RunReader opened keys-only');
    const n = this.pending;
    this.pending = 0;
    return this.textFile.bytes(n, into, at);
  }
  close(): void {
    this.keys.close();
    this.textFile?.close();
  }
}

/** A merged document: key, and text() to read it before the next call to next() (unread text is skipped). */
export interface MergedDoc {
  u: number;
  docId: string;
  source: string;
  textLen: number;
  text(into?: Uint8Array, at?: number): Uint8Array;
}

/**
 * Merges runs in the stored order (a binary heap of readers). A duplicate id throws DuplicateIdError.
 * next() returns null at the end; close() releases the files (also after an error).
 */
export class RunMerger {
  private readonly heap: RunReader[] = [];
  private current: RunReader | null = null;
  private last: { u: number; docId: string } | null = null;
  constructor(dir: string, runs: RunInfo[], opts: { keysOnly?: boolean } = {}) {
    try {
      for (const r of runs) {
        const rd = new RunReader(dir, r, opts);
        if (rd.next()) this.push(rd);
        else rd.close();
      }
    } catch (err) {
      this.close();
      throw err;
    }
  }
  private less(a: RunReader, b: RunReader): boolean {
    return compareKeys(a.u, a.docId, b.u, b.docId) < 0;
  }
  private push(r: RunReader): void {
    const h = this.heap;
    h.push(r);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  private siftDown(): void {
    const h = this.heap;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
  next(): MergedDoc | null {
    const h = this.heap;
    if (this.current) {
      // Advance the reader we handed out last time, then restore the heap.
      if (this.current.next()) this.siftDown();
      else {
        this.current.close();
        const lastR = h.pop()!;
        if (h.length) {
          h[0] = lastR;
          this.siftDown();
        }
      }
      this.current = null;
    }
    if (h.length === 0) return null;
    const top = h[0]!;
    if (this.last && compareKeys(this.last.u, this.last.docId, top.u, top.docId) === 0) throw new DuplicateIdError(top.docId);
    this.last = { u: top.u, docId: top.docId };
    this.current = top;
    return { u: top.u, docId: top.docId, source: top.source, textLen: top.textLen, text: (into, at) => top.text(into, at) };
  }
  close(): void {
    for (const r of this.heap) r.close();
    this.heap.length = 0;
    this.current = null;
  }
}

function removeRun(dir: string, r: RunInfo): void {
  rmSync(path.join(dir, `${r.name}.keys`), { force: true });
  rmSync(path.join(dir, `${r.name}.text`), { force: true });
}

/** True when every run's files exist with the recorded sizes (a kill leaves a short file, never a long one). */
export function runsIntact(dir: string, runs: RunInfo[]): boolean {
  for (const r of runs) {
    for (const [ext, size] of [['keys', r.keysBytes], ['text', r.textBytes]] as const) {
      const p = path.join(dir, `${r.name}.${ext}`);
      if (!existsSync(p) || statSync(p).size !== size) return false;
    }
  }
  return true;
}

export interface SpillStats {
  /** Most document bytes (text + ids + per-document overhead estimate) held in memory at once. */
  maxBufferedBytes: number;
  runs: number;
  /** Merge passes made to bring the run count down to the fan-in. */
  mergePasses: number;
}

export interface SpilledSplit {
  rows: number;
  textBytes: number;
  runs: RunInfo[];
}

// What a buffered document costs beyond its text and id: the object, the Uint8Array header, array slot.
const DOC_OVERHEAD = 160;

/**
 * Buffers documents per split up to `budgetBytes` in all, spilling the largest split's buffer as a sorted run
 * when the budget is reached. finish() brings each split to at most `fanIn` runs and checks the whole split
 * for duplicate ids.
 */
export class Spiller {
  private readonly buffers = new Map<Split, SpillDoc[]>();
  private readonly bufBytes = new Map<Split, number>();
  private buffered = 0;
  private seq = 0;
  private readonly out = new Map<Split, SpilledSplit>();
  readonly stats: SpillStats = { maxBufferedBytes: 0, runs: 0, mergePasses: 0 };

  constructor(private readonly dir: string, private readonly opts: { budgetBytes: number; fanIn?: number }) {}

  private split(s: Split): SpilledSplit {
    let e = this.out.get(s);
    if (!e) this.out.set(s, (e = { rows: 0, textBytes: 0, runs: [] }));
    return e;
  }

  add(s: Split, doc: SpillDoc): void {
    const cost = doc.text.length + 2 * doc.docId.length + DOC_OVERHEAD;
    let b = this.buffers.get(s);
    if (!b) this.buffers.set(s, (b = []));
    b.push(doc);
    this.bufBytes.set(s, (this.bufBytes.get(s) ?? 0) + cost);
    this.buffered += cost;
    const e = this.split(s);
    e.rows++;
    e.textBytes += doc.text.length;
    if (this.buffered > this.stats.maxBufferedBytes) this.stats.maxBufferedBytes = this.buffered;
    while (this.buffered >= this.opts.budgetBytes) {
      let biggest: Split | null = null;
      for (const [k, v] of this.bufBytes) if (v > 0 && (biggest === null || v > this.bufBytes.get(biggest)!)) biggest = k;
      if (biggest === null) break;
      this.spill(biggest);
    }
  }

  private name(): string {
    return `run-${String(this.seq++).padStart(6, '0')}`;
  }

  private spill(s: Split): void {
    const docs = this.buffers.get(s)!;
    docs.sort((a, b) => compareKeys(a.u, a.docId, b.u, b.docId));
    for (let i = 1; i < docs.length; ++i) if (docs[i]!.docId === docs[i - 1]!.docId) throw new DuplicateIdError(docs[i]!.docId);
    const w = new RunWriter(this.dir, this.name());
    for (const d of docs) w.add(d.u, d.docId, d.source, d.text);
    this.split(s).runs.push(w.close());
    this.stats.runs++;
    this.buffered -= this.bufBytes.get(s)!;
    this.buffers.set(s, []);
    this.bufBytes.set(s, 0);
  }

  /** Spills what is buffered, merges each split down to `fanIn` runs and checks for duplicates across runs. */
  finish(splits: readonly Split[]): Record<Split, SpilledSplit> {
    for (const [s, b] of this.buffers) if (b.length) this.spill(s);
    const fanIn = Math.max(2, this.opts.fanIn ?? 64);
    const res = {} as Record<Split, SpilledSplit>;
    for (const s of splits) {
      const e = this.split(s);
      while (e.runs.length > fanIn) {
        // One pass: merge consecutive groups of fanIn runs into one each.
        const next: RunInfo[] = [];
        for (let i = 0; i < e.runs.length; i += fanIn) {
          const group = e.runs.slice(i, i + fanIn);
          if (group.length === 1) {
            next.push(group[0]!);
            continue;
          }
          next.push(this.mergeInto(group));
          for (const r of group) removeRun(this.dir, r);
        }
        e.runs = next;
        this.stats.mergePasses++;
      }
      if (e.runs.length > 1) {
        const m = new RunMerger(this.dir, e.runs, { keysOnly: true });
        try {
          while (m.next());
        } finally {
          m.close();
        }
      }
      res[s] = e;
    }
    return res;
  }

  private mergeInto(runs: RunInfo[]): RunInfo {
    const m = new RunMerger(this.dir, runs);
    const w = new RunWriter(this.dir, this.name());
    try {
      for (let d = m.next(); d; d = m.next()) w.add(d.u, d.docId, d.source, d.text());
    } finally {
      m.close();
    }
    return w.close();
  }
}
