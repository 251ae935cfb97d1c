// `lrnn prepare` as a library: sources → documents → deterministic split → Arrow text shards → BPE tokenizer
// (trained on a capped sample of the training splits) → pre-tokenised shards, with a manifest. Idempotent:
// a domain, the tokenizer or a token shard whose inputs are unchanged and whose files verify (sha256) is
// skipped. A domain that fails (missing source, bad input) is reported and the others still prepare.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadTokenizer, byteLevelTokenizerJson, tokenizerConfigJson } from '../tokenizer/tokenizer_json.ts';
import { trainBpe, WordCounter } from '../tokenizer/trainer.ts';
import { BadInputError, listUserFiles, sourceDocuments, userDocuments, type DocOptions } from './documents.ts';
import { readManifest, writeManifest, type DatasetManifest, type DomainEntry, type SplitEntry } from './manifest.ts';
import { pretokenizeShards, type PretokenizeJob } from './pretokenize.ts';
import { readTextShard, sha256File, writeTextShard, type ShardInfo, type TextRow } from './shards.ts';
import { DEFAULT_SOURCES, ensureSource, SourceError, type FetchedSource, type SourceRecord, type SourceSpec } from './sources.ts';
import { DEFAULT_FRACTIONS, SPLITS, stableUnit, type Split, type SplitFractions } from './split.ts';

export interface PrepareOptions {
  /** Dataset folder, e.g. data/lrnn-mix. */
  out: string;
  /** Domains to prepare from the built-in sources (default: every domain of `sources`, unless inputs are given). */
  domains?: string[];
  sources?: SourceSpec[];
  /** Where fetched archives are cached (default data/sources). */
  sourcesDir?: string;
  /** User data: files or folders, each into a domain (default domain 'user'). */
  inputs?: { domain: string; path: string }[];
  vocabSize?: number;
  /** MB of training text per domain the tokenizer is trained on (default 4). */
  sampleMb?: number;
  fractions?: SplitFractions;
  /** Target text MB per shard (default 16). */
  shardMb?: number;
  chunkChars?: number;
  /** Worker threads for pre-tokenisation (default: available cores; 0 = this thread). */
  workers?: number;
  /** Never fetch; only use archives already in sourcesDir. */
  offline?: boolean;
  skipBad?: boolean;
  /** Use this tokenizer.json instead of training one. */
  tokenizer?: string;
  log?: (msg: string) => void;
}

export interface PrepareReport {
  out: string;
  seconds: number;
  domains: Record<string, { status: 'built' | 'up to date' | 'failed'; error?: string; documents?: number; splits?: Record<string, { rows: number; textBytes: number; tokens?: number; shards: number }> }>;
  tokenizer?: { status: 'trained' | 'up to date' | 'copied'; file: string; vocabSize: number; seconds: number; sampleBytes: Record<string, number> };
  pretokenize?: { shards: number; skipped: number; seconds: number; tokens: number; textBytes: number };
  totalTokens: number;
  totalTextBytes: number;
  diskBytes: number;
  errors: string[];
}

const CODE_VERSION = 'prepare-v1';
const sha = (x: unknown) => createHash('sha256').update(JSON.stringify(x)).digest('hex');

async function verifyShards(dir: string, shards: ShardInfo[]): Promise<boolean> {
  for (const s of shards) {
    const p = path.join(dir, s.file);
    if (!existsSync(p) || statSync(p).size !== s.bytes || (await sha256File(p)) !== s.sha256) return false;
  }
  return true;
}

/** Builds one domain's text shards from its documents. */
async function buildDomain(dir: string, domain: string, docs: AsyncIterable<TextRow>, o: Required<Pick<PrepareOptions, 'fractions' | 'shardMb'>>, log: (m: string) => void): Promise<Omit<DomainEntry, 'key' | 'sources' | 'skipped'>> {
  const perSplit: Record<Split, { u: number; row: TextRow }[]> = { train: [], validation: [], test: [] };
  const seen = new Set<string>();
  let documents = 0;
  for await (const row of docs) {
    if (seen.has(row.docId)) throw new BadInputError(`${domain}: duplicate document id '${row.docId}'`);
    seen.add(row.docId);
    const u = stableUnit(row.docId);
    const split: Split = u < o.fractions.validation ? 'validation' : u < o.fractions.validation + o.fractions.test ? 'test' : 'train';
    perSplit[split].push({ u, row });
    ++documents;
  }
  for (const s of SPLITS) {
    if (perSplit[s].length === 0) {
      throw new BadInputError(`${domain}: split '${s}' is empty (${documents} documents in total); add data or change the split fractions`);
    }
  }
  const ddir = path.join(dir, domain);
  rmSync(ddir, { recursive: true, force: true });
  mkdirSync(ddir, { recursive: true });
  const splits = {} as Record<Split, SplitEntry>;
  for (const s of SPLITS) {
    // Hash order interleaves sources and spreads each book's chunks over the shards.
    const rows = perSplit[s].sort((a, b) => a.u - b.u || (a.row.docId < b.row.docId ? -1 : 1)).map((x) => x.row);
    const shards: ShardInfo[] = [];
    let start = 0, bytes = 0, textBytes = 0;
    const flush = async (end: number) => {
      const file = `${domain}/${s}-${String(shards.length).padStart(5, '0')}.arrows`;
      const info = await writeTextShard(path.join(dir, file), rows.slice(start, end), { domain, split: s });
      shards.push({ ...info, file });
      start = end;
      bytes = 0;
    };
    for (let i = 0; i < rows.length; ++i) {
      const b = Buffer.byteLength(rows[i]!.text, 'utf8');
      bytes += b;
      textBytes += b;
      if (bytes >= o.shardMb * 1e6) await flush(i + 1);
    }
    if (start < rows.length) await flush(rows.length);
    splits[s] = { rows: rows.length, textBytes, shards };
    log(`${domain}: ${s}: ${rows.length} documents, ${(textBytes / 1e6).toFixed(2)} MB, ${shards.length} shard(s)`);
  }
  return { documents, splits };
}

/** Prepares a dataset folder; see PrepareOptions. Never throws for a single failed domain: see report.errors. */
export async function prepareDataset(opts: PrepareOptions): Promise<PrepareReport> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const dir = opts.out;
  const sources = opts.sources ?? DEFAULT_SOURCES;
  const sourcesDir = opts.sourcesDir ?? path.join(path.dirname(path.resolve(dir)), 'sources');
  const fractions = opts.fractions ?? DEFAULT_FRACTIONS;
  const shardMb = opts.shardMb ?? 8;
  const chunkChars = opts.chunkChars ?? 32768;
  const vocabSize = opts.vocabSize ?? 8192;
  const sampleMb = opts.sampleMb ?? 4;
  const workers = opts.workers ?? Math.min(os.availableParallelism(), 8);
  const inputs = opts.inputs ?? [];
  const domains = opts.domains ?? (inputs.length ? [] : [...new Set(sources.map((s) => s.domain))]);
  mkdirSync(dir, { recursive: true });

  const prev = readManifest(dir);
  const manifest: DatasetManifest = {
    format: 'lrnn-dataset',
    version: 1,
    updated: '',
    options: { fractions, shardMb, chunkChars, vocabSize, sampleMb },
    sources: prev?.sources ?? {},
    ...(prev?.tokenizer ? { tokenizer: prev.tokenizer } : {}),
    domains: {},
  };
  const report: PrepareReport = { out: dir, seconds: 0, domains: {}, totalTokens: 0, totalTextBytes: 0, diskBytes: 0, errors: [] };
  const fail = (domain: string, err: unknown) => {
    if (!(err instanceof SourceError || err instanceof BadInputError)) throw err;
    const msg = (err as Error).message;
    report.domains[domain] = { status: 'failed', error: msg };
    report.errors.push(`${domain}: ${msg}`);
    log(`error: ${domain}: ${msg}`);
  };

  // 1. Domains → text shards.
  const work: { domain: string; key: () => Promise<{ key: string; names: string[]; docs: (o: DocOptions) => AsyncIterable<TextRow> }> }[] = [];
  for (const domain of domains) {
    const specs = sources.filter((s) => s.domain === domain);
    if (specs.length === 0) {
      fail(domain, new BadInputError(`no built-in source for domain '${domain}' (known: ${[...new Set(sources.map((s) => s.domain))].join(', ')}); use --input for your own data`));
      continue;
    }
    work.push({
      domain,
      key: async () => {
        const fetched: FetchedSource[] = [];
        for (const s of specs) {
          const f = await ensureSource(s, sourcesDir, { offline: opts.offline ?? false, log: (m) => log(`${domain}: ${m}`) });
          fetched.push(f);
          manifest.sources[s.name] = f.record;
        }
        const records: SourceRecord[] = fetched.map((f) => f.record);
        return {
          key: sha({ CODE_VERSION, records, fractions, shardMb, chunkChars, files: fetched.map((f) => f.files.map((x) => x.rel)) }),
          names: fetched.map((f) => `${f.spec.name}@${f.record.version}`),
          docs: (o) => (async function* () { for (const f of fetched) yield* sourceDocuments(f, o); })(),
        };
      },
    });
  }
  const byDomain = new Map<string, string[]>();
  for (const i of inputs) byDomain.set(i.domain, [...(byDomain.get(i.domain) ?? []), i.path]);
  for (const [domain, paths] of byDomain) {
    work.push({
      domain,
      key: async () => {
        const files = listUserFiles(paths);
        const stamp = files.map((f) => [f, statSync(f).size, statSync(f).mtimeMs]);
        // Doc ids relative to each input's parent folder (e.g. 'notes/a.txt#0'), so the hash split does not
        // depend on where the input lives: the same files split the same way after a move or in a temp dir.
        const docs = (o: Parameters<typeof userDocuments>[1]) => (async function* () {
          for (const p of paths) yield* userDocuments(listUserFiles([p]), { ...o, root: path.dirname(path.resolve(p)) });
        })();
        return { key: sha({ CODE_VERSION, ids: 'relative-to-input-parent', stamp, fractions, shardMb, chunkChars }), names: paths, docs };
      },
    });
  }
  for (const w of work) {
    try {
      const { key, names, docs } = await w.key();
      const old = prev?.domains[w.domain];
      if (old && old.key === key && (await verifyShards(dir, SPLITS.flatMap((s) => old.splits[s].shards)))) {
        log(`${w.domain}: up to date (${old.documents} documents)`);
        manifest.domains[w.domain] = old;
        report.domains[w.domain] = { status: 'up to date', documents: old.documents };
        continue;
      }
      const skipped = { count: 0 };
      const t = performance.now();
      const built = await buildDomain(dir, w.domain, docs({ chunkChars, skipBad: opts.skipBad ?? false, skipped, log: (m) => log(`${w.domain}: ${m}`) }), { fractions, shardMb }, log);
      manifest.domains[w.domain] = { key, sources: names, skipped: skipped.count, ...built };
      report.domains[w.domain] = { status: 'built', documents: built.documents };
      if (skipped.count) log(`${w.domain}: skipped ${skipped.count} bad rows/files (--skip-bad)`);
      log(`${w.domain}: shards written in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      writeManifest(dir, manifest);
    } catch (err) {
      fail(w.domain, err);
    }
  }
  const ready = Object.keys(manifest.domains);
  if (ready.length === 0) {
    writeManifest(dir, manifest);
    report.seconds = (performance.now() - t0) / 1000;
    return report;
  }

  // 2. Tokenizer.
  const tokPath = path.join(dir, 'tokenizer.json');
  const tokKey = opts.tokenizer
    ? sha({ file: opts.tokenizer, sha: await sha256File(opts.tokenizer) })
    : sha({ CODE_VERSION, vocabSize, sampleMb, domains: ready.sort().map((d) => [d, manifest.domains[d]!.key]) });
  const tt = performance.now();
  if (manifest.tokenizer && manifest.tokenizer.key === tokKey && existsSync(tokPath) && (await sha256File(tokPath)) === manifest.tokenizer.sha256) {
    log(`tokenizer: up to date (${manifest.tokenizer.vocabSize} ids)`);
    report.tokenizer = { status: 'up to date', file: tokPath, vocabSize: manifest.tokenizer.vocabSize, seconds: 0, sampleBytes: manifest.tokenizer.trainedOnBytes };
  } else if (opts.tokenizer) {
    copyFileSync(opts.tokenizer, tokPath);
    const cfg = opts.tokenizer.replace(/tokenizer\.json$/, 'tokenizer_config.json');
    if (cfg !== opts.tokenizer && existsSync(cfg)) copyFileSync(cfg, path.join(dir, 'tokenizer_config.json'));
    const tok = loadTokenizer(tokPath);
    manifest.tokenizer = { file: 'tokenizer.json', sha256: await sha256File(tokPath), key: tokKey, vocabSize: tok.vocabSize, eosId: tok.eosId, trainedOnBytes: {}, trainSeconds: 0 };
    report.tokenizer = { status: 'copied', file: tokPath, vocabSize: tok.vocabSize, seconds: 0, sampleBytes: {} };
    if (tok.eosId < 0) throw new BadInputError(`${opts.tokenizer}: the tokenizer has no end-of-text token to separate documents`);
  } else {
    const wc = new WordCounter();
    const sampleBytes: Record<string, number> = {};
    for (const d of ready) {
      let got = 0;
      outer: for (const sh of manifest.domains[d]!.splits.train.shards) {
        for await (const row of readTextShard(path.join(dir, sh.file), { expectRows: sh.rows })) {
          wc.add(row.text);
          got += Buffer.byteLength(row.text, 'utf8');
          if (got >= sampleMb * 1e6) break outer;
        }
      }
      sampleBytes[d] = got;
    }
    log(`tokenizer: training a ${vocabSize}-id byte-level BPE on ${Object.entries(sampleBytes).map(([d, b]) => `${d} ${(b / 1e6).toFixed(1)} MB`).join(', ')} (${wc.counts.size} distinct pre-tokens)`);
    const trained = trainBpe(wc.counts, { vocabSize, onProgress: (n, tgt) => (n % 2000 < 500 ? log(`tokenizer: ${n}/${tgt} tokens`) : undefined) });
    writeFileSync(tokPath, byteLevelTokenizerJson(trained.vocab, trained.merges, trained.specials));
    writeFileSync(path.join(dir, 'tokenizer_config.json'), tokenizerConfigJson());
    const seconds = (performance.now() - tt) / 1000;
    const size = trained.vocab.length + trained.specials.length;
    manifest.tokenizer = { file: 'tokenizer.json', sha256: await sha256File(tokPath), key: tokKey, vocabSize: size, eosId: trained.specials[0]!.id, trainedOnBytes: sampleBytes, trainSeconds: seconds };
    report.tokenizer = { status: 'trained', file: tokPath, vocabSize: size, seconds, sampleBytes };
    log(`tokenizer: ${size} ids, ${trained.merges.length} merges in ${seconds.toFixed(1)} s → ${tokPath}`);
  }
  writeManifest(dir, manifest);

  // 3. Pre-tokenised shards.
  const tokSha = manifest.tokenizer!.sha256;
  const jobs: (PretokenizeJob & { domain: string; split: Split; index: number })[] = [];
  let skippedShards = 0;
  for (const d of ready) {
    for (const s of SPLITS) {
      const e = manifest.domains[d]!.splits[s];
      if (e.tokenizerSha256 === tokSha && e.tokenShards && e.tokenShards.length === e.shards.length && (await verifyShards(dir, e.tokenShards))) {
        skippedShards += e.tokenShards.length;
        continue;
      }
      delete e.tokenShards;
      delete e.tokens;
      e.shards.forEach((sh, index) =>
        jobs.push({ domain: d, split: s, index, textPath: path.join(dir, sh.file), tokenPath: path.join(dir, sh.file.replace(/\.arrows$/, '.tokens.arrows')), tokenizerPath: tokPath, expectRows: sh.rows, meta: { domain: d, split: s, tokenizer_sha256: tokSha } }),
      );
    }
  }
  const tp = performance.now();
  if (jobs.length) log(`pretokenize: ${jobs.length} shard(s) on ${Math.min(workers, jobs.length) || 1} worker(s)${skippedShards ? `, ${skippedShards} up to date` : ''}`);
  let doneCount = 0;
  const infos = await pretokenizeShards(jobs, { workers, onDone: (j, info) => log(`pretokenize: ${++doneCount}/${jobs.length} ${path.relative(dir, j.tokenPath)}: ${info.tokens} tokens`) });
  jobs.forEach((j, i) => {
    const e = manifest.domains[j.domain]!.splits[j.split];
    (e.tokenShards ??= [])[j.index] = { ...infos[i]!, file: path.relative(dir, j.tokenPath) };
    e.tokenizerSha256 = tokSha;
  });
  let pretokTokens = 0, pretokBytes = 0;
  for (const info of infos) {
    pretokTokens += info.tokens ?? 0;
    pretokBytes += info.textBytes;
  }
  report.pretokenize = { shards: jobs.length, skipped: skippedShards, seconds: (performance.now() - tp) / 1000, tokens: pretokTokens, textBytes: pretokBytes };

  // Totals.
  for (const d of ready) {
    const entry = manifest.domains[d]!;
    const splits: Record<string, { rows: number; textBytes: number; tokens?: number; shards: number }> = {};
    for (const s of SPLITS) {
      const e = entry.splits[s];
      e.tokens = (e.tokenShards ?? []).reduce((a, x) => a + (x.tokens ?? 0), 0);
      splits[s] = { rows: e.rows, textBytes: e.textBytes, tokens: e.tokens, shards: e.shards.length };
      report.totalTokens += e.tokens;
      report.totalTextBytes += e.textBytes;
      for (const x of [...e.shards, ...(e.tokenShards ?? [])]) report.diskBytes += x.bytes;
    }
    report.domains[d] = { ...report.domains[d]!, documents: entry.documents, splits };
  }
  // Remove shard files no manifest entry names (left from an earlier layout).
  const known = new Set(ready.flatMap((d) => SPLITS.flatMap((s) => [...manifest.domains[d]!.splits[s].shards, ...(manifest.domains[d]!.splits[s].tokenShards ?? [])].map((x) => x.file))));
  for (const d of ready) for (const f of readdirSync(path.join(dir, d))) if (f.endsWith('.arrows') && !known.has(`${d}/${f}`)) rmSync(path.join(dir, d, f));
  writeManifest(dir, manifest);
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}
