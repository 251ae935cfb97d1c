// `lrnn eval`: perplexity, bits per byte and per-position perplexity of a checkpoint on the prepared test
// splits (text, code, math) or on user files; prints a table and writes eval/results/<name>.json.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { initBackend } from '../backend/index.ts';
import { BadInputError } from '../data/documents.ts';
import type { Split } from '../data/split.ts';
import { evaluateCheckpoint } from '../eval/checkpoint_eval.ts';
import { resolveCheckpointDir, trainerFacts } from '../eval/evaluate.ts';
import { type EvalResultFile, evalTable, resultJson, writeEvalResult } from '../eval/results.ts';
import { preparedSplitStream, type SplitStream, userFileStream } from '../eval/splits.ts';
import { readConfig, TOKENIZER_FILE } from '../models/checkpoint.ts';
import type { ModelConfig } from '../models/config.ts';
import type { TextTokenizer } from '../tokenizer/bpe.ts';
import { loadTokenizer } from '../tokenizer/tokenizer_json.ts';
import { type Command, numberFlag, parseFlags } from './command.ts';
import { asUsage, UsageError } from './errors.ts';

const DEFAULT_SPLITS = ['text', 'code', 'math'];

export const evalCommand: Command = {
  name: 'eval',
  summary: 'perplexity and bits per byte of a checkpoint on text/code/math test splits or your files',
  usage: `Usage: lrnn eval --checkpoint DIR [--splits text,code,math] [--data FILE_OR_DIR ...]
                 [--data-dir DIR] [--subset test|validation] [--seq-len L] [--stride S]
                 [--max-tokens N] [--batch-size B] [--buckets 128] [--out FILE] [--json]

DIR is a checkpoint folder (config.json, model.safetensors, tokenizer.json) or a run folder, where
checkpoint-best/ or else the newest checkpoint-<step>/ is used. Each split's documents are joined with
end-of-text and cut into windows of L tokens (default: the training seq_len, else 256), each window
starting from the zero state. With --stride S < L windows overlap and only the S newest targets of each
window are scored, so every token is scored once with up to L tokens of context.

Per split: tokens scored, mean NLL (nats), perplexity exp(NLL), bits per byte = total NLL / ln 2 / UTF-8
bytes of the scored tokens (tokenizer-independent), and perplexity by position in the window (buckets
split at --buckets, default 128: targets 0–127 and 128+).

Data: --splits reads the prepared dataset (--data-dir; default: the run's data.dir, else data/lrnn-mix,
else data/prepared) and its --subset (default test); every shard of those splits is checked against the
sha256 in the dataset's manifest.json first.
--data FILE_OR_DIR (repeatable: .txt, .jsonl with a 'text' field, .parquet, .arrow) evaluates your files,
one split per argument, instead (add --splits to get both). --max-tokens caps the scored tokens per split.
Writes eval/results/<run>-<checkpoint>-<subset>.json (or --out FILE); --json prints it instead of the table.
Exit codes: 0 done, 2 bad flag or bad file (a truncated checkpoint or shard, named), 1 failure; Ctrl-C or
SIGTERM stops at once (130/143) and writes nothing (the result file is written atomically at the end).`,
  async run(argv) {
    const { values } = parseFlags(argv, {
      checkpoint: { type: 'string' }, splits: { type: 'string' }, data: { type: 'string', multiple: true },
      'data-dir': { type: 'string' }, subset: { type: 'string' }, 'seq-len': { type: 'string' }, stride: { type: 'string' },
      'max-tokens': { type: 'string' }, 'batch-size': { type: 'string' }, buckets: { type: 'string' }, out: { type: 'string' },
    });
    if (!values.checkpoint) throw new UsageError('--checkpoint DIR is required');
    if (!existsSync(values.checkpoint)) throw new UsageError(`--checkpoint ${values.checkpoint}: no such folder`);
    const dir = resolveCheckpointDir(values.checkpoint);
    if (!dir) throw new UsageError(`--checkpoint ${values.checkpoint}: no config.json there, and no checkpoint-best/ or checkpoint-<step>/ folder inside`);
    const subset = (values.subset ?? 'test') as Split;
    if (!['test', 'validation', 'train'].includes(subset)) throw new UsageError(`--subset: expected test or validation, got '${subset}'`);
    const facts = trainerFacts(dir);
    const seqLen = numberFlag('seq-len', values['seq-len'], facts.seqLen ?? 256, { int: true, min: 1 });
    const stride = numberFlag('stride', values.stride, seqLen, { int: true, min: 1 });
    if (stride > seqLen) throw new UsageError(`--stride ${stride} must not exceed --seq-len ${seqLen}`);
    const maxTokens = values['max-tokens'] !== undefined ? numberFlag('max-tokens', values['max-tokens'], 0, { int: true, min: 1 }) : undefined;
    const batchSize = numberFlag('batch-size', values['batch-size'], 8, { int: true, min: 1 });
    const buckets = (values.buckets ?? '128').split(',').filter(Boolean).map((b) => numberFlag('buckets', b, 0, { int: true, min: 1 }));
    if (buckets.some((b, i) => i > 0 && b <= buckets[i - 1]!)) throw new UsageError(`--buckets: expected increasing numbers, got '${values.buckets}'`);
    const splitNames = values.splits !== undefined ? values.splits.split(',').map((s) => s.trim()).filter(Boolean) : values.data ? [] : DEFAULT_SPLITS;
    if (values.splits !== undefined && splitNames.length === 0) throw new UsageError('--splits: expected a comma-separated list such as text,code,math');

    let config: ModelConfig;
    try {
      config = readConfig(dir); // a bad config.json fails before any data is read; evaluateCheckpoint reuses it
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const tokFile = path.join(dir, TOKENIZER_FILE);
    let tokenizer: TextTokenizer | null = null;
    if (existsSync(tokFile)) tokenizer = loadTokenizer(tokFile);
    else if (values.data) throw new UsageError(`${tokFile}: not found; --data needs the checkpoint's tokenizer to tokenise your files`);

    // Read the data before loading the model, so bad input fails fast.
    const streams: SplitStream[] = [];
    const dataDir = values['data-dir'] ?? (facts.dataDir && existsSync(path.join(facts.dataDir, 'manifest.json')) ? facts.dataDir : defaultDataDir());
    try {
      for (const name of splitNames) {
        streams.push(await preparedSplitStream(dataDir, name, subset, { ...(maxTokens !== undefined ? { maxTokens } : {}), ...(tokenizer ? { tokenizer, tokenizerFile: tokFile } : {}) }));
      }
      const used = new Set(streams.map((s) => s.name));
      for (const p of values.data ?? []) {
        let name = path.basename(p).replace(/\.(txt|jsonl|parquet|arrows?)$/i, '');
        for (let k = 2; used.has(name); ++k) name = `${name}-${k}`;
        used.add(name);
        streams.push(await userFileStream([p], tokenizer!, { name, ...(maxTokens !== undefined ? { maxTokens } : {}) }));
      }
    } catch (e) {
      // Missing or unreadable data is bad input (exit 2); the messages name the folder, file and row.
      // The reader's advice to pass --skip-bad is for lrnn prepare: eval scores every row or none, since a
      // silently skipped row would change the number.
      const msg = (e as Error).message.replace(/,? or pass --skip-bad|; pass --skip-bad[^.;]*/, '') + ((e as Error).message.includes('--skip-bad') ? ' (lrnn eval has no --skip-bad: fix or remove the bad rows)' : '');
      if (e instanceof BadInputError || /manifest\.json|no domain|no such file|split|is empty|not a readable|truncated|corrupt/.test(msg)) throw new UsageError(msg);
      throw asUsage(e);
    }

    await initBackend({ warn: () => {} });
    let result: EvalResultFile;
    try {
      result = evaluateCheckpoint(dir, streams, {
        config, subset: splitNames.length ? subset : 'files', seqLen, stride, batchSize, buckets, tokenizer, ...(maxTokens !== undefined ? { maxTokens } : {}),
        onSplit: (name, r, s) => { if (process.stderr.isTTY && !values.json) process.stderr.write(`${name}: ${r.tokens} tokens in ${s.toFixed(1)} s\n`); },
      });
    } catch (e) {
      throw asUsage(e); // a truncated or mismatched model.safetensors is a bad file (exit 2), named in the message
    }
    const out = values.out ?? path.join('eval', 'results', `${resultName(dir)}-${result.subset}.json`);
    writeEvalResult(out, result);
    if (values.json) console.log(resultJson(result).trimEnd());
    else console.log(`${evalTable(result)}\nwrote ${out}`);
    return 0;
  },
};

/** `lrnn prepare`'s default output (data/lrnn-mix), else data/prepared when only it exists. */
function defaultDataDir(): string {
  for (const d of ['data/lrnn-mix', 'data/prepared']) if (existsSync(path.join(d, 'manifest.json'))) return d;
  return 'data/lrnn-mix';
}

/** '<run>-<checkpoint>' from a checkpoint path, safe as a file name. */
function resultName(dir: string): string {
  const abs = path.resolve(dir);
  const parts = [path.basename(path.dirname(abs)), path.basename(abs)].filter((p) => p && p !== '.' && p !== path.sep);
  return parts.join('-').replace(/[^A-Za-z0-9._-]+/g, '_');
}
