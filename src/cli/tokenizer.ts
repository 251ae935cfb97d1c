// `lrnn tokenizer train`: trains a byte-level BPE tokenizer.json (HF format, §10.2 profile) from a prepared
// dataset's training splits or from your own files.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BadInputError, listUserFiles, userDocuments } from '../data/documents.ts';
import { readManifest } from '../data/manifest.ts';
import { readTextShard } from '../data/shards.ts';
import { byteLevelTokenizerJson, tokenizerConfigJson } from '../tokenizer/tokenizer_json.ts';
import { trainBpe, WordCounter } from '../tokenizer/trainer.ts';
import { type Command, numberFlag, parseFlags } from './command.ts';
import { UsageError } from './errors.ts';

export const tokenizerTrain: Command = {
  name: 'tokenizer train',
  summary: 'train a byte-level BPE tokenizer.json from a dataset or files',
  usage: `Usage: lrnn tokenizer train --out DIR (--data DATASET_DIR [--domains a,b] | --input PATH[,…])
                            [--vocab-size 8192] [--sample-mb 4] [--special '<|endoftext|>,…'] [--json]

Writes DIR/tokenizer.json and DIR/tokenizer_config.json (Hugging Face format; GPT-2 byte-level BPE;
special tokens last, <|endoftext|> first among them). --data reads the training split of each domain of a
dataset made by 'lrnn prepare' (at most --sample-mb MB per domain); --input reads .txt/.jsonl/.parquet/
.arrow(s) files or folders (at most --sample-mb MB in all).`,
  async run(argv) {
    try {
      return await train(argv);
    } catch (err) {
      if (err instanceof BadInputError) throw new UsageError(err.message);
      throw err;
    }
  },
};

async function train(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    out: { type: 'string' },
    data: { type: 'string' },
    domains: { type: 'string' },
    input: { type: 'string', multiple: true },
    'vocab-size': { type: 'string' },
    'sample-mb': { type: 'string' },
    special: { type: 'string' },
  });
  if (!values.out) throw new UsageError('--out DIR is required');
  if (!values.data === !values.input) throw new UsageError('give exactly one of --data DATASET_DIR or --input PATHS');
  const vocabSize = numberFlag('vocab-size', values['vocab-size'], 8192, { int: true, min: 258 });
  const cap = numberFlag('sample-mb', values['sample-mb'], 4, { min: 0.001 }) * 1e6;
  const specials = values.special ? values.special.split(',').filter(Boolean) : ['<|endoftext|>'];
  const log = (m: string) => process.stderr.write(`tokenizer: ${m}\n`);
  const t0 = performance.now();
  const wc = new WordCounter();
  const sample: Record<string, number> = {};
  if (values.data) {
    const m = readManifest(values.data);
    if (!m) throw new UsageError(`${values.data}: no manifest.json (run 'lrnn prepare' first)`);
    const domains = values.domains ? values.domains.split(',') : Object.keys(m.domains);
    for (const d of domains) {
      const e = m.domains[d];
      if (!e) throw new UsageError(`--domains: '${d}' is not in ${values.data} (have: ${Object.keys(m.domains).join(', ')})`);
      let got = 0;
      outer: for (const sh of e.splits.train.shards) {
        for await (const row of readTextShard(path.join(values.data, sh.file), { expectRows: sh.rows })) {
          wc.add(row.text);
          got += Buffer.byteLength(row.text);
          if (got >= cap) break outer;
        }
      }
      sample[d] = got;
    }
  } else {
    const files = listUserFiles(values.input!.flatMap((v) => v.split(',')).filter(Boolean));
    let got = 0;
    for await (const row of userDocuments(files)) {
      wc.add(row.text);
      got += Buffer.byteLength(row.text);
      if (got >= cap) break;
    }
    sample.input = got;
  }
  log(`counted ${wc.counts.size} distinct pre-tokens in ${Object.values(sample).reduce((a, b) => a + b, 0) / 1e6} MB`);
  const tr = trainBpe(wc.counts, { vocabSize, specialTokens: specials });
  mkdirSync(values.out, { recursive: true });
  const file = path.join(values.out, 'tokenizer.json');
  writeFileSync(file, byteLevelTokenizerJson(tr.vocab, tr.merges, tr.specials));
  writeFileSync(path.join(values.out, 'tokenizer_config.json'), tokenizerConfigJson(specials[0]));
  const result = { file, vocabSize: tr.vocab.length + tr.specials.length, merges: tr.merges.length, sampleBytes: sample, seconds: (performance.now() - t0) / 1000 };
  if (values.json) console.log(JSON.stringify(result));
  else console.log(`wrote ${file}: ${result.vocabSize} ids (${result.merges} merges) in ${result.seconds.toFixed(1)} s`);
  return 0;
}
