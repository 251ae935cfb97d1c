// Shard writing and tokenisation on every core: a pool of persistent worker threads (each loads the tokenizer
// once), fed shard jobs by the merge on the main thread. A 'shard' job carries one shard's documents (UTF-8
// texts back to back, transferred, not copied) and writes both the gzip text shard and the token shard; a
// 'retokenize' job re-tokenises an existing text shard (a new tokenizer for a domain whose text is up to
// date). Token ids are stored in the narrowest type the vocabulary allows (shards.ts tokenDtypeFor).
import { Worker } from 'node:worker_threads';
import { loadTokenizer } from '../tokenizer/tokenizer_json.ts';
import type { TextTokenizer } from '../tokenizer/bpe.ts';
import { allocTokens, readTextShard, writeTextShardPacked, writeTokenShardPacked, type ShardInfo, type TokenArray, type TokenDtype } from './shards.ts';

interface JobBase {
  tokenizerPath: string;
  dtype: TokenDtype;
  tokenFile: string;
  /** Schema metadata of the token shard (domain, split, tokenizer sha256). */
  tokenMeta: Record<string, unknown>;
}

export interface ShardJob extends JobBase {
  kind: 'shard';
  /** The documents' UTF-8 texts back to back; document i is text[offsets[i] .. offsets[i+1]). Owns its buffer. */
  text: Uint8Array;
  offsets: Float64Array;
  docIds: string[];
  sources: string[];
  textFile: string;
  textMeta: Record<string, unknown>;
}

export interface RetokenizeJob extends JobBase {
  kind: 'retokenize';
  textFile: string;
  /** Rows the manifest expects in the text shard. */
  expectRows: number;
}

export type TokenizeJob = ShardJob | RetokenizeJob;

export interface JobResult {
  /** The text shard written ('shard' jobs). */
  text?: ShardInfo;
  tokens: ShardInfo & { textBytes: number };
}

const tokenizers = new Map<string, TextTokenizer>();

function tokenizerFor(p: string): TextTokenizer {
  let tok = tokenizers.get(p);
  if (!tok) tokenizers.set(p, (tok = loadTokenizer(p)));
  return tok;
}

/** Ids of many documents back to back in the stored type, growing as documents are added. */
class IdBuffer {
  values: TokenArray;
  readonly offsets: number[] = [0];
  private n = 0;
  constructor(private readonly dtype: TokenDtype, estimate: number) {
    this.values = allocTokens(dtype, Math.max(1024, estimate));
  }
  push(ids: Int32Array): void {
    if (this.n + ids.length > this.values.length) {
      const bigger = allocTokens(this.dtype, Math.max(this.values.length * 1.5, this.n + ids.length) | 0);
      bigger.set(this.values.subarray(0, this.n));
      this.values = bigger;
    }
    this.values.set(ids, this.n);
    this.n += ids.length;
    this.offsets.push(this.n);
  }
  get ids(): TokenArray {
    return this.values.subarray(0, this.n);
  }
}

/** Runs one job in this thread. */
export async function runJob(job: TokenizeJob): Promise<JobResult> {
  const tok = tokenizerFor(job.tokenizerPath);
  if (job.kind === 'retokenize') {
    const out = new IdBuffer(job.dtype, 1 << 20);
    const ids: string[] = [];
    let textBytes = 0;
    for await (const row of readTextShard(job.textFile, { expectRows: job.expectRows })) {
      out.push(tok.encodeOrdinary(row.text));
      ids.push(row.docId);
      textBytes += Buffer.byteLength(row.text, 'utf8');
    }
    const info = await writeTokenShardPacked(job.tokenFile, out.ids, out.offsets, ids, job.tokenMeta, job.dtype);
    return { tokens: { ...info, textBytes } };
  }
  const buf = Buffer.from(job.text.buffer, job.text.byteOffset, job.text.byteLength);
  // About 3.5 bytes per token on real text; the buffer grows if not.
  const out = new IdBuffer(job.dtype, Math.ceil(job.text.length / 3));
  for (let i = 0; i < job.docIds.length; ++i) out.push(tok.encodeOrdinary(buf.toString('utf8', job.offsets[i]!, job.offsets[i + 1]!)));
  const text = await writeTextShardPacked(job.textFile, job.text, job.offsets, job.sources, job.docIds, job.textMeta, { gzip: true });
  const tokens = await writeTokenShardPacked(job.tokenFile, out.ids, out.offsets, job.docIds, job.tokenMeta, job.dtype);
  return { text, tokens: { ...tokens, textBytes: text.textBytes! } };
}

type Reply = { id: number; ok: true; result: JobResult } | { id: number; ok: false; error: string };

interface Pending {
  id: number;
  job: TokenizeJob;
  resolve: (r: JobResult) => void;
  reject: (e: Error) => void;
}

function spawnWorker(): Worker {
  const here = import.meta.url;
  const isTs = here.endsWith('.ts');
  const entry = new URL(`./pretokenize_worker.${isTs ? 'ts' : 'js'}`, here).href;
  // A worker does not inherit tsx's loader hooks when lrnn runs from source; register them first.
  const code = isTs
    ? `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => m.register()).then(() => import(${JSON.stringify(entry)}))`
    : `import(${JSON.stringify(entry)})`;
  return new Worker(code, { eval: true });
}

/**
 * `workers` persistent threads (0 = run jobs in this thread, one at a time). run() resolves with the job's
 * result; results do not depend on which thread ran a job. A worker that dies fails its job and the pool.
 */
export class TokenizePool {
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly queue: Pending[] = [];
  private readonly busy = new Map<Worker, Pending>();
  private broken: Error | null = null;
  private seq = 0;

  constructor(readonly workers: number) {
    for (let i = 0; i < workers; ++i) {
      const w = spawnWorker();
      w.on('message', (m: Reply) => this.onReply(w, m));
      w.on('error', (err) => this.onDeath(w, err));
      w.on('exit', (code) => this.onDeath(w, new Error(`tokenizer worker exited with code ${code}`)));
      this.all.push(w);
      this.idle.push(w);
    }
  }

  run(job: TokenizeJob): Promise<JobResult> {
    if (this.workers === 0) return runJob(job);
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.seq++, job, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.idle.length && this.queue.length) {
      const w = this.idle.pop()!;
      const p = this.queue.shift()!;
      this.busy.set(w, p);
      const transfer = p.job.kind === 'shard' ? [p.job.text.buffer as ArrayBuffer] : [];
      w.postMessage({ id: p.id, job: p.job }, transfer);
    }
  }

  private onReply(w: Worker, m: Reply): void {
    const p = this.busy.get(w);
    this.busy.delete(w);
    this.idle.push(w);
    if (p) {
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(m.error));
    }
    this.dispatch();
  }

  private onDeath(w: Worker, err: Error): void {
    if (!this.all.includes(w)) return;
    this.all.splice(this.all.indexOf(w), 1);
    const i = this.idle.indexOf(w);
    if (i >= 0) this.idle.splice(i, 1);
    if (this.closing) return;
    this.broken ??= err;
    const p = this.busy.get(w);
    this.busy.delete(w);
    p?.reject(err);
    for (const q of this.queue.splice(0)) q.reject(err);
  }

  private closing = false;

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.all.map((w) => w.terminate()));
    this.all.length = 0;
  }
}
