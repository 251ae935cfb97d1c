// Pre-tokenisation of text shards into List<Int32> token shards with our fast encoder (memo cache per
// pre-token), one worker thread per shard, at most `workers` at once (p-queue).
import { Worker } from 'node:worker_threads';
import PQueue from 'p-queue';
import { loadTokenizer } from '../tokenizer/tokenizer_json.ts';
import type { TextTokenizer } from '../tokenizer/bpe.ts';
import { readTextShard, writeTokenShard, type ShardInfo } from './shards.ts';

export interface PretokenizeJob {
  textPath: string;
  tokenPath: string;
  tokenizerPath: string;
  /** Rows the manifest expects in the text shard. */
  expectRows?: number;
  /** Schema metadata for the token shard (domain, split, tokenizer sha256). */
  meta?: Record<string, unknown>;
}

const tokenizers = new Map<string, TextTokenizer>();

/** Tokenises one text shard in this thread. */
export async function pretokenizeShard(job: PretokenizeJob): Promise<ShardInfo & { textBytes: number }> {
  let tok = tokenizers.get(job.tokenizerPath);
  if (!tok) tokenizers.set(job.tokenizerPath, (tok = loadTokenizer(job.tokenizerPath)));
  const docs: Int32Array[] = [];
  const ids: string[] = [];
  let textBytes = 0;
  for await (const row of readTextShard(job.textPath, job.expectRows === undefined ? {} : { expectRows: job.expectRows })) {
    docs.push(tok.encodeOrdinary(row.text));
    ids.push(row.docId);
    textBytes += Buffer.byteLength(row.text, 'utf8');
  }
  const info = await writeTokenShard(job.tokenPath, docs, ids, job.meta ?? {});
  return { ...info, textBytes };
}

function runInWorker(job: PretokenizeJob): Promise<ShardInfo & { textBytes: number }> {
  const here = import.meta.url;
  const isTs = here.endsWith('.ts');
  const entry = new URL(`./pretokenize_worker.${isTs ? 'ts' : 'js'}`, here).href;
  // A worker does not inherit tsx's loader hooks when lrnn runs from source; register them first.
  const code = isTs
    ? `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => m.register()).then(() => import(${JSON.stringify(entry)}))`
    : `import(${JSON.stringify(entry)})`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: job });
    let settled = false;
    w.on('message', (m: { ok: boolean; info?: ShardInfo & { textBytes: number }; error?: string }) => {
      settled = true;
      if (m.ok) resolve(m.info!);
      else reject(new Error(m.error));
      void w.terminate();
    });
    w.on('error', (err) => {
      if (!settled) reject(err);
      settled = true;
    });
    w.on('exit', (code) => {
      if (!settled) reject(new Error(`pretokenize worker for ${job.textPath} exited with code ${code}`));
    });
  });
}

/** Runs the jobs with at most `workers` threads (0 = in this thread, one at a time). Results keep job order. */
export async function pretokenizeShards(jobs: PretokenizeJob[], opts: { workers: number; onDone?: (job: PretokenizeJob, info: ShardInfo) => void }): Promise<(ShardInfo & { textBytes: number })[]> {
  const queue = new PQueue({ concurrency: Math.max(1, opts.workers) });
  return Promise.all(
    jobs.map((job) =>
      queue.add(async () => {
        const info = opts.workers > 0 ? await runInWorker(job) : await pretokenizeShard(job);
        opts.onDone?.(job, info);
        return info;
      }),
    ),
  ) as Promise<(ShardInfo & { textBytes: number })[]>;
}
