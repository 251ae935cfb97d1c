// `lrnn init`: writes a freshly initialised checkpoint folder (config.json, model.safetensors and, given a
// tokenizer, tokenizer.json + tokenizer_config.json) for a named size, with the vocabulary size and special
// token ids taken from the tokenizer when one is given.
import { readFileSync } from 'node:fs';
import { saveCheckpointWeights } from '../models/checkpoint.ts';
import { type ModelKind, modelConfigFromRecipe, paramSpecs } from '../models/config.ts';
import { MODEL_SIZES } from '../models/sizes.ts';
import { initWeights } from '../models/init.ts';
import { type TextTokenizer, loadTokenizer } from '../tokenizer/index.ts';
import { type Command, numberFlag, parseFlags } from './command.ts';
import { UsageError } from './errors.ts';

export const init: Command = {
  name: 'init',
  summary: 'write a freshly initialised DeltaNet or Mamba checkpoint folder',
  usage: `Usage: lrnn init --model deltanet|mamba --size ${Object.keys(MODEL_SIZES).join('|')} --out DIR
                 [--allow-neg-eigval] [--tokenizer FILE] [--vocab-size N] [--seed N] [--json]

Writes DIR/config.json and DIR/model.safetensors (docs/checkpoint-format.md), initialised as the reference
implementations do. --allow-neg-eigval extends the state-transition eigenvalues from [0,1] to [-1,1]
(config.json "allow_neg_eigval": true). With --tokenizer, tokenizer.json is copied in and the vocabulary
size and end-of-text id come from it (Mamba pads the vocabulary to a multiple of 8); otherwise the size's
default vocabulary is used and no tokenizer is written. An existing DIR is replaced atomically.

Sizes:
${Object.entries(MODEL_SIZES).map(([k, s]) => `  ${k.padEnd(6)} ${s.description}`).join('\n')}`,
  async run(argv) {
    const { values } = parseFlags(argv, {
      model: { type: 'string' }, size: { type: 'string' }, out: { type: 'string' }, 'allow-neg-eigval': { type: 'boolean' },
      tokenizer: { type: 'string' }, 'vocab-size': { type: 'string' }, seed: { type: 'string' },
    });
    const model = values.model as ModelKind | undefined;
    if (model !== 'deltanet' && model !== 'mamba') throw new UsageError(`--model: expected deltanet or mamba, got ${model === undefined ? 'nothing' : `'${model}'`}`);
    const size = values.size ?? 'tiny';
    if (!MODEL_SIZES[size]) throw new UsageError(`--size: unknown size '${size}' (known: ${Object.keys(MODEL_SIZES).join(', ')})`);
    if (!values.out) throw new UsageError('--out DIR is required');
    const seed = numberFlag('seed', values.seed, 0, { int: true, min: 0 });
    let tokenizerJson: string | undefined;
    let vocabSize = MODEL_SIZES[size]!.vocab_size;
    let eosId: number | null = null;
    if (values.tokenizer) {
      let tok: TextTokenizer;
      try {
        tokenizerJson = readFileSync(values.tokenizer, 'utf8');
        tok = loadTokenizer(values.tokenizer);
      } catch (e) {
        throw new UsageError(`--tokenizer ${values.tokenizer}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      vocabSize = tok.vocabSize;
      eosId = tok.eosId >= 0 ? tok.eosId : null;
      if (model === 'mamba') vocabSize = Math.ceil(vocabSize / 8) * 8;
    }
    if (values['vocab-size'] !== undefined) {
      const v = numberFlag('vocab-size', values['vocab-size'], vocabSize, { int: true, min: 1 });
      if (v < vocabSize && tokenizerJson) throw new UsageError(`--vocab-size ${v} is smaller than the tokenizer's ${vocabSize} ids`);
      vocabSize = v;
    }
    const config = modelConfigFromRecipe({ arch: model, size, allow_neg_eigval: !!values['allow-neg-eigval'], vocab_size: vocabSize });
    config.eos_token_id = eosId;
    if (config.model_type === 'mamba') config.bos_token_id = config.pad_token_id = eosId;
    const weights = initWeights(config, seed);
    try {
      saveCheckpointWeights(values.out, config, weights, tokenizerJson ? { tokenizer: { json: tokenizerJson } } : {});
    } catch (e) {
      // A path that cannot be a folder or cannot be written is bad input (exit 2), named with the reason.
      const code = (e as NodeJS.ErrnoException).code;
      if (code && ['EEXIST', 'ENOTDIR', 'EACCES', 'EPERM', 'EROFS', 'ENOENT'].includes(code)) throw new UsageError(`--out ${values.out}: cannot write there (${(e as Error).message})`);
      throw e;
    }
    const params = paramSpecs(config).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
    const summary = { out: values.out, model_type: config.model_type, size, allow_neg_eigval: config.allow_neg_eigval, vocab_size: vocabSize, parameters: params, seed, tokenizer: !!tokenizerJson };
    if (values.json) console.log(JSON.stringify(summary));
    else {
      console.log(`wrote ${values.out}: ${config.model_type} ${size}, allow_neg_eigval=${config.allow_neg_eigval}, vocab ${vocabSize}, ${params.toLocaleString('en-US')} parameters, seed ${seed}`);
      if (!tokenizerJson) console.log('note: no --tokenizer given, so the folder has no tokenizer.json (required for a complete checkpoint and for `lrnn generate`)');
    }
    return 0;
  },
};
