// data.prepare: `lrnn prepare` at scale, as a user runs it (a child `node bin/lrnn.js prepare --json`):
// wall MB/s of input text, peak RSS of the process (worker threads included), shard bytes per text byte,
// and optionally kill -9 half-way + re-run → is manifest.json identical to the uninterrupted run's.
// A benchmark, not a test: sizes and times depend on the machine. Settings (environment):
//   LRNN_BENCH_PREPARE_CORPUS   a .jsonl/.parquet file or folder to prepare (default: generate one)
//   LRNN_BENCH_PREPARE_MB       MB of text to generate (default 200)
//   LRNN_BENCH_PREPARE_FORMAT   jsonl | parquet | jsonl,parquet (default jsonl): generated formats, one result each
//   LRNN_BENCH_PREPARE_TOKENIZER  tokenizer.json to use (default data/lrnn-mix/tokenizer.json if prepared,
//                               else prepare trains one, 8,192 ids)
//   LRNN_BENCH_PREPARE_KILL=1   also kill -9 a second run half-way, re-run it, compare manifests
//   LRNN_BENCH_PREPARE_WORKERS  --workers (default: prepare's default)
//   LRNN_BENCH_PREPARE_TMP      where the corpus and datasets go (default the OS temp dir); removed afterwards
//                               unless LRNN_BENCH_PREPARE_KEEP=1
// Generated text: documents cut from the prepared data/lrnn-mix text, code and math shards (real prose, TypeScript
// and LaTeX / metamath) at random offsets and lengths, so no two documents are the same; without data/lrnn-mix,
// synthetic prose (fixtures/tiny_corpus.ts), which tokenises and compresses unlike real text.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bench, BenchResult } from '../testing/bench_harness.ts';
import { makeDoc } from './fixtures/tiny_corpus.ts';
import { readManifest } from './manifest.ts';
import { readTextShard } from './shards.ts';
import { prng } from './token_stream.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const env = process.env;

/** Up to ~24 MB of real documents per domain from data/lrnn-mix, or null when it is not prepared. */
async function realPool(): Promise<{ docs: string[]; source: string } | null> {
  const dir = path.join(root, 'data/lrnn-mix');
  const m = existsSync(path.join(dir, 'manifest.json')) ? readManifest(dir) : null;
  if (!m) return null;
  const docs: string[] = [];
  for (const e of Object.values(m.domains)) {
    let got = 0;
    outer: for (const sh of e.splits.train.shards) {
      for await (const r of readTextShard(path.join(dir, sh.file))) {
        docs.push(r.text);
        got += r.text.length;
        if (got > 24e6) break outer;
      }
    }
  }
  return docs.length ? { docs, source: `documents cut from data/lrnn-mix (${Object.keys(m.domains).join(', ')})` } : null;
}

/** Writes `mb` MB of text as JSON lines ({"text": …}) and/or Parquet (row groups of 1,000 rows). */
export async function generate(dir: string, mb: number, formats: string[]): Promise<{ files: Record<string, string>; source: string }> {
  const pool = await realPool();
  const r = prng(20240611);
  const nextDoc = (): string => {
    if (!pool) return makeDoc(r, 100 + Math.floor(r() * 1500));
    const d = pool.docs[Math.floor(r() * pool.docs.length)]!;
    const len = Math.min(d.length, 500 + Math.floor(r() * 12000));
    const at = Math.floor(r() * (d.length - len + 1));
    return d.slice(at, at + len);
  };
  const files: Record<string, string> = {};
  const jsonl = formats.includes('jsonl') ? path.join(dir, 'corpus.jsonl') : null;
  const pq = formats.includes('parquet') ? path.join(dir, 'corpus.parquet') : null;
  const fd = jsonl ? openSync(jsonl, 'w') : -1;
  const { ParquetWriter, schemaFromColumnData, fileWriter } = await import('hyparquet-writer');
  const pw = pq ? new ParquetWriter({ writer: fileWriter(pq), schema: schemaFromColumnData({ columnData: [{ name: 'text', data: [], type: 'STRING' }] }) }) : null;
  let bytes = 0;
  let group: string[] = [];
  const flushGroup = () => {
    if (pw && group.length) pw.write({ columnData: [{ name: 'text', data: group, type: 'STRING' }], rowGroupSize: group.length });
    group = [];
  };
  let lines: string[] = [];
  while (bytes < mb * 1e6) {
    const t = nextDoc();
    bytes += Buffer.byteLength(t);
    if (jsonl) {
      lines.push(JSON.stringify({ text: t }));
      if (lines.length >= 1000) {
        writeSync(fd, lines.join('\n') + '\n');
        lines = [];
      }
    }
    if (pw) {
      group.push(t);
      if (group.length >= 1000) flushGroup();
    }
  }
  if (jsonl) {
    if (lines.length) writeSync(fd, lines.join('\n') + '\n');
    closeSync(fd);
    files.jsonl = jsonl;
  }
  if (pw) {
    flushGroup();
    pw.finish();
    files.parquet = pq!;
  }
  return { files, source: pool?.source ?? 'synthetic prose (fixtures/tiny_corpus.ts; run lrnn prepare for real text)' };
}

interface Report {
  totalTextBytes: number;
  totalTokens: number;
  diskBytes: number;
  peakRssBytes: number;
  seconds: number;
  pretokenize?: { resumed: number; shards: number; dtype: string };
  domains: Record<string, { spill?: { runs: number; mergePasses: number; maxBufferedBytes: number } }>;
}

/** Runs `lrnn prepare`; resolves with the report and wall seconds, or null when killed by `killWhen`. */
function runPrepare(args: string[], killWhen?: () => boolean): Promise<{ report: Report | null; wall: number; cpuLoad: number[] }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [path.join(root, 'bin/lrnn.js'), 'prepare', ...args, '--json'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err = (err + c).slice(-20000)));
    const load: number[] = [];
    const timer = setInterval(() => {
      load.push(os.loadavg()[0]!);
      if (killWhen?.()) child.kill('SIGKILL');
    }, 250);
    child.on('error', reject);
    child.on('exit', (code, sig) => {
      clearInterval(timer);
      const wall = (performance.now() - t0) / 1000;
      if (sig === 'SIGKILL') return resolve({ report: null, wall, cpuLoad: load });
      if (code !== 0) return reject(new Error(`lrnn prepare exited ${code ?? sig}: ${err.slice(-3000)}`));
      resolve({ report: JSON.parse(out) as Report, wall, cpuLoad: load });
    });
  });
}

export const benches: Bench[] = [
  {
    name: 'data.prepare',
    async run() {
      const base = env.LRNN_BENCH_PREPARE_TMP ?? os.tmpdir();
      mkdirSync(base, { recursive: true });
      const tmp = mkdtempSync(path.join(base, 'lrnn-bench-prepare-'));
      const results: BenchResult[] = [];
      try {
        let corpora: Record<string, string>;
        let source: string;
        if (env.LRNN_BENCH_PREPARE_CORPUS) {
          corpora = { given: path.resolve(env.LRNN_BENCH_PREPARE_CORPUS) };
          source = env.LRNN_BENCH_PREPARE_CORPUS;
        } else {
          const mb = Number(env.LRNN_BENCH_PREPARE_MB ?? 200);
          const formats = (env.LRNN_BENCH_PREPARE_FORMAT ?? 'jsonl').split(',');
          process.stderr.write(`bench: data.prepare: generating ${mb} MB as ${formats.join(' and ')} in ${tmp} …\n`);
          const g = await generate(tmp, mb, formats);
          corpora = g.files;
          source = g.source;
        }
        const lrnnMix = path.join(root, 'data/lrnn-mix/tokenizer.json');
        const tokenizer = env.LRNN_BENCH_PREPARE_TOKENIZER ?? (existsSync(lrnnMix) ? lrnnMix : null);
        for (const [format, input] of Object.entries(corpora)) {
          const inputBytes = statSync(input).isDirectory() ? null : statSync(input).size;
          const args = (out: string) => ['--input', `bench=${input}`, '--out', out, ...(tokenizer ? ['--tokenizer', tokenizer] : ['--vocab-size', '8192']), ...(env.LRNN_BENCH_PREPARE_WORKERS ? ['--workers', env.LRNN_BENCH_PREPARE_WORKERS] : [])];
          const out = path.join(tmp, `ds-${format}`);
          process.stderr.write(`bench: data.prepare: lrnn prepare ${args(out).join(' ')} …\n`);
          const { report, wall, cpuLoad } = await runPrepare(args(out));
          const r = report!;
          const spill = Object.values(r.domains)[0]?.spill;
          const res: BenchResult = {
            name: 'data.prepare',
            value: r.totalTextBytes / 1e6 / wall,
            unit: 'MB/s',
            measure: 'text MB / wall s of the whole lrnn prepare process (reading, sort, tokenising, writing)',
            format,
            textMB: r.totalTextBytes / 1e6,
            inputMB: inputBytes === null ? null : inputBytes / 1e6,
            wallSeconds: wall,
            peakRssMB: r.peakRssBytes / 1e6,
            shardBytesPerTextByte: r.diskBytes / r.totalTextBytes,
            shardMB: r.diskBytes / 1e6,
            tokens: r.totalTokens,
            dtype: r.pretokenize?.dtype,
            spill,
            tokenizer: tokenizer ? path.relative(root, tokenizer) : 'trained by prepare (8192 ids)',
            cores: os.availableParallelism(),
            meanLoadAvg1m: cpuLoad.length ? cpuLoad.reduce((a, b) => a + b, 0) / cpuLoad.length : null,
            source,
            target: { mbPerSec: 15, peakRssMB: 1500, shardBytesPerTextByte: 1.3 },
          };
          if (env.LRNN_BENCH_PREPARE_KILL === '1') {
            // kill -9 when about half the shards are journalled, then the same command again.
            const killed = path.join(tmp, `ds-${format}-killed`);
            const journal = path.join(killed, '.prepare', 'bench', 'journal.jsonl');
            const totalShards = r.pretokenize?.shards ?? 0;
            const lines = () => (existsSync(journal) ? readFileSync(journal, 'utf8').split('\n').filter(Boolean).length : 0);
            const k = await runPrepare(args(killed), () => lines() >= totalShards / 2);
            const journalled = lines();
            const again = await runPrepare(args(killed));
            const same = readFileSync(path.join(killed, 'manifest.json'), 'utf8') === readFileSync(path.join(out, 'manifest.json'), 'utf8');
            Object.assign(res, { killedAfterSeconds: k.report === null ? k.wall : null, journalledAtKill: journalled, resumedShards: again.report!.pretokenize?.resumed, resumeSeconds: again.wall, manifestIdenticalAfterKill: k.report === null ? same : 'not killed (finished first)' });
            rmSync(killed, { recursive: true, force: true });
          }
          rmSync(out, { recursive: true, force: true });
          results.push(res);
        }
      } finally {
        if (env.LRNN_BENCH_PREPARE_KEEP !== '1') rmSync(tmp, { recursive: true, force: true });
      }
      return results;
    },
  },
];
