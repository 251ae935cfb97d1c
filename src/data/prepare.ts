// `lrnn prepare` as a library: sources → documents → deterministic split → sorted runs on disk (external sort,
// spill.ts) → BPE tokenizer (trained on a capped sample of the training splits, or given) → text shards (gzip
// Arrow) and token shards (uint16/uint32 Arrow) written together by a pool of tokenizer threads, with a
// manifest. Memory is bounded by the spill budget plus a few shards per worker, whatever the corpus size.
// Idempotent and restartable: a domain, the tokenizer or a shard whose inputs are unchanged and whose files
// verify (sha256) is skipped, and a killed run resumes from its sorted runs and finished shards (resume.ts),
// ending with the same manifest.json as an unbroken run. A domain that fails (missing source, bad input) is
// reported and the others still prepare.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadTokenizer, byteLevelTokenizerJson, tokenizerConfigJson } from '../tokenizer/tokenizer_json.ts';
import { trainBpe, WordCounter } from '../tokenizer/trainer.ts';
import { BadInputError, listUserFiles, sourceDocuments, userDocuments, type DocOptions } from './documents.ts';
import { readManifest, writeManifest, type DatasetManifest, type DomainEntry, type SplitEntry } from './manifest.ts';
import { TokenizePool, type JobResult } from './pretokenize.ts';
import { appendJournal, readJournal, readSpillState, shardIntact, STATE_DIR, writeSpillState, type JournalEntry, type SpillState } from './resume.ts';
import { readTextShard, sha256File, tokenDtypeFor, type ShardInfo, type TextRow, type TokenDtype } from './shards.ts';
import { DEFAULT_SOURCES, ensureSource, SourceError, type FetchedSource, type SourceRecord, type SourceSpec } from './sources.ts';
import { DuplicateIdError, RunMerger, Spiller, type SpillStats } from './spill.ts';
import { SPLITS, stableUnit, DEFAULT_FRACTIONS, type Split, type SplitFractions } from './split.ts';

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
  /** The field (.jsonl) or column (.parquet, .arrow, .arrows) of user inputs that holds the text (default 'text'). */
  textColumn?: string;
  vocabSize?: number;
  /** MB of training text per domain the tokenizer is trained on (default 4). */
  sampleMb?: number;
  fractions?: SplitFractions;
  /** Target text MB per shard (default 8). */
  shardMb?: number;
  chunkChars?: number;
  /** Tokenizer worker threads (default: available cores, at most 8; 0 = this thread). */
  workers?: number;
  /** MB of documents held in memory before a sorted run is written to disk (default 128; RSS in that phase is about 3x it). */
  spillMb?: number;
  /** Runs merged at once (default 64); more are merged in passes first. */
  mergeFanIn?: number;
  /** Never fetch; only use archives already in sourcesDir. */
  offline?: boolean;
  skipBad?: boolean;
  /** Use this tokenizer.json instead of training one. */
  tokenizer?: string;
  log?: (msg: string) => void;
  /** Progress of the long phases, at most every ~200 ms (for a terminal display). */
  onProgress?: (p: PrepareProgress) => void;
  /** Called after each shard pair is written and journalled (n counts them); a throw stops prepare like a crash would. */
  afterShard?: (n: number) => void;
  /** Stop early: shards in flight are finished and journalled, then PrepareInterrupted is thrown; a re-run resumes. */
  signal?: AbortSignal;
}

/** Thrown when `signal` stopped prepare; what is done is kept and a re-run with the same options resumes. */
export class PrepareInterrupted extends Error {
  override name = 'PrepareInterrupted';
}

export interface PrepareProgress {
  /** 'read': documents read, split and sorted into runs; 'shards': shards written and tokenised. */
  phase: 'read' | 'shards';
  domain: string;
  /** Input bytes read ('read') or text bytes sharded ('shards') so far in this phase, and the phase's total. */
  bytes: number;
  totalBytes: number;
  docs: number;
  /** Seconds since the phase began. */
  seconds: number;
}

export interface PrepareReport {
  out: string;
  seconds: number;
  domains: Record<string, {
    status: 'built' | 'up to date' | 'failed';
    error?: string;
    documents?: number;
    splits?: Record<string, { rows: number; textBytes: number; tokens?: number; shards: number }>;
    /** External sort of a built domain: runs written, merge passes, most bytes held in memory. */
    spill?: SpillStats & { resumed: boolean };
  }>;
  tokenizer?: { status: 'trained' | 'up to date' | 'copied'; file: string; vocabSize: number; seconds: number; sampleBytes: Record<string, number> };
  /** Shard pairs written (text + tokens) or token shards re-made, and those reused from an interrupted run. */
  pretokenize?: { shards: number; skipped: number; resumed: number; seconds: number; tokens: number; textBytes: number; dtype: TokenDtype };
  totalTokens: number;
  totalTextBytes: number;
  diskBytes: number;
  errors: string[];
}

const CODE_VERSION = 'prepare-v1';
const sha = (x: unknown) => createHash('sha256').update(JSON.stringify(x)).digest('hex');
const shardName = (domain: string, s: Split, i: number) => `${domain}/${s}-${String(i).padStart(5, '0')}`;
const tokenFileOf = (textFile: string) => textFile.replace(/\.arrows(\.gz)?$/, '.tokens.arrows');
const sumTokens = (shards: ShardInfo[]) => shards.reduce((a, x) => a + (x.tokens ?? 0), 0);

async function verifyShards(dir: string, shards: ShardInfo[]): Promise<boolean> {
  for (const s of shards) if (!(await shardIntact(dir, s))) return false;
  return true;
}

/** Throttled progress: calls `emit` at most every 200 ms (and on finish). */
function progressEmitter(phase: PrepareProgress['phase'], domain: string, totalBytes: number, emit?: (p: PrepareProgress) => void) {
  const t0 = performance.now();
  let last = 0;
  const p: PrepareProgress = { phase, domain, bytes: 0, totalBytes, docs: 0, seconds: 0 };
  return {
    p,
    tick(force = false) {
      if (!emit) return;
      const now = performance.now();
      if (!force && now - last < 200) return;
      last = now;
      p.seconds = (now - t0) / 1000;
      emit({ ...p });
    },
  };
}

/** Reads a domain's documents once, assigns splits by the stable hash and sorts each split into runs. */
async function spillDomain(tmp: string, domain: string, key: string, docs: AsyncIterable<TextRow>, o: { fractions: SplitFractions; budgetBytes: number; fanIn: number }, skipped: { count: number }, prog: ReturnType<typeof progressEmitter>, signal?: AbortSignal): Promise<{ state: SpillState; stats: SpillStats }> {
  const spiller = new Spiller(tmp, { budgetBytes: o.budgetBytes, fanIn: o.fanIn });
  let documents = 0;
  let splits;
  try {
    for await (const row of docs) {
      const u = stableUnit(row.docId);
      const split: Split = u < o.fractions.validation ? 'validation' : u < o.fractions.validation + o.fractions.test ? 'test' : 'train';
      spiller.add(split, { u, docId: row.docId, source: row.source, text: Buffer.from(row.text, 'utf8') });
      ++documents;
      if (signal?.aborted) throw new PrepareInterrupted(`${domain}: interrupted while reading documents (re-run to start this domain's reading over)`);
      prog.p.docs = documents;
      prog.tick();
    }
    splits = spiller.finish(SPLITS);
  } catch (err) {
    if (err instanceof DuplicateIdError) throw new BadInputError(`${domain}: ${err.message}`);
    throw err;
  }
  prog.tick(true);
  for (const s of SPLITS) {
    if (splits[s].rows === 0) throw new BadInputError(`${domain}: split '${s}' is empty (${documents} documents in total); add data or change the split fractions`);
  }
  return { state: { key, documents, skipped: skipped.count, splits }, stats: spiller.stats };
}

/** A split's texts in stored order, from its sorted runs (being built) or its text shards (up to date). */
async function* splitTexts(dir: string, src: { tmp: string; state: SpillState } | DomainEntry, s: Split): AsyncGenerator<string> {
  if ('state' in src) {
    const m = new RunMerger(src.tmp, src.state.splits[s].runs);
    try {
      for (let d = m.next(); d; d = m.next()) yield Buffer.from(d.text()).toString('utf8');
    } finally {
      m.close();
    }
    return;
  }
  for (const sh of src.splits[s].shards) for await (const row of readTextShard(path.join(dir, sh.file), { expectRows: sh.rows })) yield row.text;
}

interface Built {
  domain: string;
  key: string;
  names: string[];
  tmp: string;
  state: SpillState;
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
  const budgetBytes = (opts.spillMb ?? 128) * 1e6;
  const fanIn = opts.mergeFanIn ?? 64;
  const textColumn = opts.textColumn ?? 'text';
  const inputs = opts.inputs ?? [];
  const domains = opts.domains ?? (inputs.length ? [] : [...new Set(sources.map((s) => s.domain))]);
  mkdirSync(dir, { recursive: true });
  const stateRoot = path.join(dir, STATE_DIR);

  const prev = readManifest(dir);
  const manifest: DatasetManifest = {
    format: 'lrnn-dataset',
    version: 1,
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

  // 1. Domains → documents, split, sorted runs.
  type Work = { domain: string; key: () => Promise<{ key: string; names: string[]; inputBytes: number; docs: (o: DocOptions) => AsyncIterable<TextRow> }> };
  const work: Work[] = [];
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
          inputBytes: fetched.reduce((a, f) => a + f.files.reduce((b, x) => b + statSync(x.abs).size, 0), 0),
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
        // The text column enters the key only when it is not the default, so existing datasets stay up to date.
        const column = textColumn === 'text' ? {} : { textColumn };
        return { key: sha({ CODE_VERSION, ids: 'relative-to-input-parent', stamp, fractions, shardMb, chunkChars, ...column }), names: paths, inputBytes: stamp.reduce((a, x) => a + (x[1] as number), 0), docs };
      },
    });
  }
  const order = work.map((w) => w.domain);
  const complete = new Map<string, DomainEntry>();
  const save = () => {
    // Domains in work order whatever order they completed in, so a resumed run writes the same manifest.
    manifest.domains = Object.fromEntries(order.filter((d) => complete.has(d)).map((d) => [d, complete.get(d)!]));
    writeManifest(dir, manifest);
  };
  const building: Built[] = [];
  for (const w of work) {
    const tmp = path.join(stateRoot, w.domain);
    try {
      const { key, names, inputBytes, docs } = await w.key();
      const old = prev?.domains[w.domain];
      if (old && old.key === key && (await verifyShards(dir, SPLITS.flatMap((s) => old.splits[s].shards)))) {
        log(`${w.domain}: up to date (${old.documents} documents)`);
        complete.set(w.domain, old);
        report.domains[w.domain] = { status: 'up to date', documents: old.documents };
        continue;
      }
      let state = readSpillState(tmp, key);
      let stats: SpillStats = { maxBufferedBytes: 0, runs: 0, mergePasses: 0 };
      const resumed = state !== null;
      if (state) {
        log(`${w.domain}: resuming: ${state.documents} documents already split and sorted (${SPLITS.reduce((a, s) => a + state!.splits[s].runs.length, 0)} runs)`);
      } else {
        rmSync(tmp, { recursive: true, force: true });
        mkdirSync(tmp, { recursive: true });
        rmSync(path.join(dir, w.domain), { recursive: true, force: true });
        const skipped = { count: 0 };
        const t = performance.now();
        const prog = progressEmitter('read', w.domain, inputBytes, opts.onProgress);
        const r = await spillDomain(tmp, w.domain, key, docs({ chunkChars, skipBad: opts.skipBad ?? false, skipped, textField: textColumn, log: (m) => log(`${w.domain}: ${m}`), onBytes: (n) => (prog.p.bytes += n) }), { fractions, budgetBytes, fanIn }, skipped, prog, opts.signal);
        state = r.state;
        stats = r.stats;
        writeSpillState(tmp, state);
        if (skipped.count) log(`${w.domain}: skipped ${skipped.count} bad rows/files (--skip-bad)`);
        log(`${w.domain}: ${state.documents} documents split and sorted in ${((performance.now() - t) / 1000).toFixed(1)} s (${stats.runs} run(s), ${stats.mergePasses} merge pass(es), at most ${(stats.maxBufferedBytes / 1e6).toFixed(1)} MB in memory)`);
      }
      building.push({ domain: w.domain, key, names, tmp, state });
      report.domains[w.domain] = { status: 'built', documents: state.documents, spill: { ...stats, resumed } };
    } catch (err) {
      if (!(err instanceof PrepareInterrupted)) rmSync(tmp, { recursive: true, force: true });
      fail(w.domain, err);
    }
  }
  const ready = order.filter((d) => complete.has(d) || building.some((b) => b.domain === d));
  // At the end every domain is complete or failed; what is left (state of domains this run does not
  // prepare, which the manifest no longer lists) is stale.
  const cleanState = () => rmSync(stateRoot, { recursive: true, force: true });
  if (ready.length === 0) {
    save();
    cleanState();
    report.seconds = (performance.now() - t0) / 1000;
    return report;
  }

  // 2. Tokenizer.
  const tokPath = path.join(dir, 'tokenizer.json');
  const keyOf = (d: string) => complete.get(d)?.key ?? building.find((b) => b.domain === d)!.key;
  const sampleOrder = [...ready].sort();
  const tokKey = opts.tokenizer
    ? sha({ file: opts.tokenizer, sha: await sha256File(opts.tokenizer) })
    : sha({ CODE_VERSION, vocabSize, sampleMb, domains: sampleOrder.map((d) => [d, keyOf(d)]) });
  const tt = performance.now();
  if (manifest.tokenizer && manifest.tokenizer.key === tokKey && existsSync(tokPath) && (await sha256File(tokPath)) === manifest.tokenizer.sha256) {
    log(`tokenizer: up to date (${manifest.tokenizer.vocabSize} ids)`);
    report.tokenizer = { status: 'up to date', file: tokPath, vocabSize: manifest.tokenizer.vocabSize, seconds: 0, sampleBytes: manifest.tokenizer.trainedOnBytes };
  } else if (opts.tokenizer) {
    copyFileSync(opts.tokenizer, tokPath);
    const cfg = opts.tokenizer.replace(/tokenizer\.json$/, 'tokenizer_config.json');
    if (cfg !== opts.tokenizer && existsSync(cfg)) copyFileSync(cfg, path.join(dir, 'tokenizer_config.json'));
    const tok = loadTokenizer(tokPath);
    manifest.tokenizer = { file: 'tokenizer.json', sha256: await sha256File(tokPath), key: tokKey, vocabSize: tok.vocabSize, eosId: tok.eosId, trainedOnBytes: {} };
    report.tokenizer = { status: 'copied', file: tokPath, vocabSize: tok.vocabSize, seconds: 0, sampleBytes: {} };
    if (tok.eosId < 0) throw new BadInputError(`${opts.tokenizer}: the tokenizer has no end-of-text token to separate documents`);
  } else {
    const wc = new WordCounter();
    const sampleBytes: Record<string, number> = {};
    for (const d of sampleOrder) {
      let got = 0;
      const src = complete.get(d) ?? building.find((b) => b.domain === d)!;
      for await (const text of splitTexts(dir, src, 'train')) {
        wc.add(text);
        got += Buffer.byteLength(text, 'utf8');
        if (got >= sampleMb * 1e6) break;
      }
      sampleBytes[d] = got;
    }
    log(`tokenizer: training a ${vocabSize}-id byte-level BPE on ${Object.entries(sampleBytes).map(([d, b]) => `${d} ${(b / 1e6).toFixed(1)} MB`).join(', ')} (${wc.counts.size} distinct pre-tokens)`);
    const trained = trainBpe(wc.counts, { vocabSize, onProgress: (n, tgt) => (n % 2000 < 500 ? log(`tokenizer: ${n}/${tgt} tokens`) : undefined) });
    writeFileSync(tokPath, byteLevelTokenizerJson(trained.vocab, trained.merges, trained.specials));
    writeFileSync(path.join(dir, 'tokenizer_config.json'), tokenizerConfigJson());
    const seconds = (performance.now() - tt) / 1000;
    const size = trained.vocab.length + trained.specials.length;
    manifest.tokenizer = { file: 'tokenizer.json', sha256: await sha256File(tokPath), key: tokKey, vocabSize: size, eosId: trained.specials[0]!.id, trainedOnBytes: sampleBytes };
    report.tokenizer = { status: 'trained', file: tokPath, vocabSize: size, seconds, sampleBytes };
    log(`tokenizer: ${size} ids, ${trained.merges.length} merges in ${seconds.toFixed(1)} s → ${tokPath}`);
  }
  save();

  // 3. Shards: text + tokens for the domains being built; token shards for up-to-date domains whose tokenizer changed.
  const tokSha = manifest.tokenizer!.sha256;
  const dtype = tokenDtypeFor(manifest.tokenizer!.vocabSize);
  const pool = new TokenizePool(workers);
  const maxInFlight = Math.max(1, workers) * 2;
  const tp = performance.now();
  const stats = { shards: 0, skipped: 0, resumed: 0, tokens: 0, textBytes: 0 };
  let shardsDone = 0;
  const totalShardBytes = building.reduce((a, b) => a + SPLITS.reduce((x, s) => x + b.state.splits[s].textBytes, 0), 0);
  const prog = progressEmitter('shards', building.map((b) => b.domain).join(','), totalShardBytes, opts.onProgress);
  const finished = (r: JobResult, rows: number) => {
    stats.shards++;
    stats.tokens += r.tokens.tokens ?? 0;
    stats.textBytes += r.tokens.textBytes;
    prog.p.bytes += r.text ? r.tokens.textBytes : 0;
    prog.p.docs += r.text ? rows : 0;
    prog.tick();
  };
  // Jobs run concurrently; at most maxInFlight wait, so memory holds a few shards per worker.
  let inflight: Promise<void>[] = [];
  const submit = async (p: Promise<void>) => {
    p.catch(() => {}); // awaited below; this only keeps a failure from being reported twice
    inflight.push(p);
    if (inflight.length >= maxInFlight) await inflight.shift();
    if (opts.signal?.aborted) {
      await drain();
      throw new PrepareInterrupted(`interrupted after ${shardsDone} shard(s); re-run the same command to resume from them`);
    }
  };
  const drain = async () => {
    const all = inflight;
    inflight = [];
    for (const p of all) await p;
  };
  const afterShard = () => opts.afterShard?.(++shardsDone);
  try {
    for (const d of ready) {
      const b = building.find((x) => x.domain === d);
      if (b) {
        complete.set(d, await buildShards(b));
        save();
        rmSync(b.tmp, { recursive: true, force: true });
        continue;
      }
      // Up to date text, maybe another tokenizer: re-tokenise the splits whose token shards do not verify.
      const entry = complete.get(d)!;
      const tmp = path.join(stateRoot, d);
      let journal: Map<string, JournalEntry> | null = null;
      for (const s of SPLITS) {
        const e = entry.splits[s];
        if (e.tokenizerSha256 === tokSha && e.tokenShards && e.tokenShards.length === e.shards.length && (await verifyShards(dir, e.tokenShards))) {
          stats.skipped += e.tokenShards.length;
          continue;
        }
        if (!journal) {
          mkdirSync(tmp, { recursive: true });
          journal = readJournal(tmp);
        }
        const tokenShards: ShardInfo[] = new Array(e.shards.length);
        for (let index = 0; index < e.shards.length; ++index) {
          const sh = e.shards[index]!;
          const j = journal.get(`${s}/${index}`);
          if (j && j.tokenizerSha256 === tokSha && j.text.sha256 === sh.sha256 && (await shardIntact(dir, j.tokens))) {
            tokenShards[index] = j.tokens;
            stats.resumed++;
            continue;
          }
          const tokenFile = tokenFileOf(sh.file);
          await submit(
            pool.run({ kind: 'retokenize', tokenizerPath: tokPath, dtype, textFile: path.join(dir, sh.file), expectRows: sh.rows, tokenFile: path.join(dir, tokenFile), tokenMeta: { domain: d, split: s, tokenizer_sha256: tokSha } }).then((r) => {
              const tokens = { ...r.tokens, file: tokenFile };
              tokenShards[index] = tokens;
              appendJournal(tmp, { split: s, index, tokenizerSha256: tokSha, text: sh, tokens });
              finished(r, sh.rows);
              afterShard();
            }),
          );
        }
        await drain();
        entry.splits[s] = { rows: e.rows, textBytes: e.textBytes, shards: e.shards, tokenShards, tokenizerSha256: tokSha, tokens: sumTokens(tokenShards) };
      }
      if (journal) {
        save();
        rmSync(tmp, { recursive: true, force: true });
      }
    }
  } finally {
    await pool.close();
  }
  if (stats.shards || stats.resumed) log(`shards: ${stats.shards} written, ${stats.resumed} reused from an interrupted run, ${stats.skipped} token shard(s) up to date; ids stored as ${dtype}`);
  report.pretokenize = { ...stats, seconds: (performance.now() - tp) / 1000, dtype };

  /** Merges a domain's runs into shard pairs, in stored order, reusing journalled shards that verify. */
  async function buildShards(b: Built): Promise<DomainEntry> {
    const journal = readJournal(b.tmp);
    mkdirSync(path.join(dir, b.domain), { recursive: true });
    const splits = {} as Record<Split, SplitEntry>;
    for (const s of SPLITS) {
      const sp = b.state.splits[s];
      const textShards: ShardInfo[] = [], tokenShards: ShardInfo[] = [];
      const merger = new RunMerger(b.tmp, sp.runs);
      let rows = 0, textBytes = 0;
      try {
        let d = merger.next();
        for (let index = 0; d; ++index) {
          const base = shardName(b.domain, s, index);
          const j = journal.get(`${s}/${index}`);
          const reuse = !!j && j.tokenizerSha256 === tokSha && (await shardIntact(dir, j.text)) && (await shardIntact(dir, j.tokens));
          // One shard: documents until its text reaches shardMb (the document that crosses it included),
          // read straight into the buffer that is handed to a worker.
          const ids: string[] = [], srcs: string[] = [];
          let all = new Uint8Array(reuse ? 0 : Math.max(1 << 16, Math.ceil(shardMb * 1.05e6)));
          const ends: number[] = [0];
          let bytes = 0;
          for (; d && bytes < shardMb * 1e6; d = merger.next()) {
            if (!reuse) {
              if (bytes + d.textLen > all.length) {
                const bigger = new Uint8Array(Math.max(2 * all.length, bytes + d.textLen));
                bigger.set(all.subarray(0, bytes));
                all = bigger;
              }
              d.text(all, bytes);
            }
            bytes += d.textLen;
            ends.push(bytes);
            ids.push(d.docId);
            srcs.push(d.source);
          }
          rows += ids.length;
          textBytes += bytes;
          if (reuse) {
            if (j!.text.rows !== ids.length || j!.text.textBytes !== bytes) throw new Error(`${b.tmp}: journal entry ${s}/${index} does not match the sorted runs; delete ${b.tmp} and re-run`);
            textShards[index] = j!.text;
            tokenShards[index] = j!.tokens;
            stats.resumed++;
            prog.p.bytes += bytes;
            prog.p.docs += ids.length;
            prog.tick();
            continue;
          }
          const offsets = Float64Array.from(ends);
          const textFile = `${base}.arrows.gz`, tokenFile = `${base}.tokens.arrows`;
          const meta = { domain: b.domain, split: s };
          await submit(
            pool.run({ kind: 'shard', tokenizerPath: tokPath, dtype, text: all.subarray(0, bytes), offsets, docIds: ids, sources: srcs, textFile: path.join(dir, textFile), tokenFile: path.join(dir, tokenFile), textMeta: meta, tokenMeta: { ...meta, tokenizer_sha256: tokSha } }).then((r) => {
              const text: ShardInfo = { file: textFile, rows: r.text!.rows, bytes: r.text!.bytes, sha256: r.text!.sha256, textBytes: r.text!.textBytes! };
              const tokens: ShardInfo = { file: tokenFile, rows: r.tokens.rows, bytes: r.tokens.bytes, sha256: r.tokens.sha256, tokens: r.tokens.tokens!, textBytes: r.tokens.textBytes };
              textShards[index] = text;
              tokenShards[index] = tokens;
              appendJournal(b.tmp, { split: s, index, tokenizerSha256: tokSha, text, tokens });
              finished(r, ids.length);
              afterShard();
            }),
          );
        }
        await drain();
      } finally {
        merger.close();
      }
      if (rows !== sp.rows || textBytes !== sp.textBytes) throw new Error(`internal: ${b.domain}/${s}: merged ${rows} documents (${textBytes} bytes), sorted ${sp.rows} (${sp.textBytes})`);
      splits[s] = { rows, textBytes, shards: textShards, tokenShards, tokenizerSha256: tokSha, tokens: sumTokens(tokenShards) };
      log(`${b.domain}: ${s}: ${rows} documents, ${(textBytes / 1e6).toFixed(2)} MB, ${textShards.length} shard(s)`);
    }
    prog.tick(true);
    return { key: b.key, sources: b.names, skipped: b.state.skipped, documents: b.state.documents, splits };
  }

  // Totals.
  for (const d of ready) {
    const entry = complete.get(d)!;
    const splits: Record<string, { rows: number; textBytes: number; tokens?: number; shards: number }> = {};
    for (const s of SPLITS) {
      const e = entry.splits[s];
      e.tokens = sumTokens(e.tokenShards ?? []);
      splits[s] = { rows: e.rows, textBytes: e.textBytes, tokens: e.tokens, shards: e.shards.length };
      report.totalTokens += e.tokens;
      report.totalTextBytes += e.textBytes;
      for (const x of [...e.shards, ...(e.tokenShards ?? [])]) report.diskBytes += x.bytes;
    }
    report.domains[d] = { ...report.domains[d]!, documents: entry.documents, splits };
  }
  // Remove shard files no manifest entry names (left from an earlier layout or an interrupted build).
  const known = new Set(ready.flatMap((d) => SPLITS.flatMap((s) => [...complete.get(d)!.splits[s].shards, ...(complete.get(d)!.splits[s].tokenShards ?? [])].map((x) => x.file))));
  for (const d of ready) for (const f of readdirSync(path.join(dir, d))) if (/\.arrows(\.gz)?$/.test(f) && !known.has(`${d}/${f}`)) rmSync(path.join(dir, d, f));
  save();
  cleanState();
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}
