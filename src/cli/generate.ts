// `lrnn generate`: samples a continuation of a prompt from a checkpoint folder with recurrent O(1)-memory
// decoding, streaming text to stdout as tokens are chosen.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { initBackend } from '../backend/index.ts';
import { TOKENIZER_FILE, loadCheckpoint } from '../models/checkpoint.ts';
import { generate as sample } from '../models/generate.ts';
import { type TextTokenizer, loadTokenizer } from '../tokenizer/index.ts';
import { type Command, numberFlag, parseFlags } from './command.ts';
import { asUsage, UsageError } from './errors.ts';
import { resolveCheckpointDir } from '../eval/evaluate.ts';

/** Loads DIR/tokenizer.json (with tokenizer_config.json beside it when present). */
function checkpointTokenizer(dir: string): TextTokenizer {
  const file = path.join(dir, TOKENIZER_FILE);
  if (!existsSync(file)) throw new UsageError(`${file}: not found (the checkpoint has no tokenizer; pass --tokenizer to lrnn init)`);
  return loadTokenizer(file);
}

export const generate: Command = {
  name: 'generate',
  summary: 'sample text from a checkpoint (recurrent decoding, streamed to stdout)',
  usage: `Usage: lrnn generate --checkpoint DIR [--prompt TEXT] [--max-new-tokens N] [--temperature T] [--top-k K]
                     [--seed N] [--no-stop] [--json]

DIR is a checkpoint folder or a run folder (then checkpoint-best/, else the newest checkpoint-<step>/, as
in lrnn eval). Encodes TEXT with the checkpoint's tokenizer.json, runs the prompt through the model in
chunks of 256 tokens (memory stays bounded for long prompts), then decodes one token at a time carrying
each layer's conv cache and recurrent state (memory does not grow with length), printing text as it is
produced. An empty or missing --prompt starts from the config's bos_token_id (else eos_token_id). --temperature 0 is greedy (default 1); --top-k 0 samples from the whole vocabulary
(default); --max-new-tokens defaults to 64. Generation stops at the config's eos_token_id unless --no-stop.
--json prints {"prompt_ids", "ids", "text"} at the end instead of streaming.`,
  async run(argv) {
    const { values } = parseFlags(argv, {
      checkpoint: { type: 'string' }, prompt: { type: 'string' }, 'max-new-tokens': { type: 'string' },
      temperature: { type: 'string' }, 'top-k': { type: 'string' }, seed: { type: 'string' }, 'no-stop': { type: 'boolean' },
    });
    if (!values.checkpoint) throw new UsageError('--checkpoint DIR is required');
    const prompt = values.prompt ?? '';
    const maxNewTokens = numberFlag('max-new-tokens', values['max-new-tokens'], 64, { int: true, min: 0 });
    const temperature = numberFlag('temperature', values.temperature, 1, { min: 0 });
    const topK = numberFlag('top-k', values['top-k'], 0, { int: true, min: 0 });
    const seed = numberFlag('seed', values.seed, 0, { int: true, min: 0 });
    if (!existsSync(values.checkpoint)) throw new UsageError(`--checkpoint ${values.checkpoint}: no config.json there (no such folder)`);
    const dir = resolveCheckpointDir(values.checkpoint);
    if (!dir) throw new UsageError(`--checkpoint ${values.checkpoint}: no config.json there, and no checkpoint-best/ or checkpoint-<step>/ folder inside`);
    const tok = checkpointTokenizer(dir);
    await initBackend({ warn: () => {} });
    let model;
    try {
      model = loadCheckpoint(dir);
    } catch (e) {
      throw asUsage(e);
    }
    try {
      const c = model.config;
      let promptIds = tok.encode(prompt);
      if (promptIds.length === 0) {
        const start = c.bos_token_id ?? c.eos_token_id;
        if (start == null) throw new UsageError(`--prompt is empty and ${path.join(dir, 'config.json')} has no bos_token_id or eos_token_id to start from`);
        promptIds = [start];
      }
      const stop = values['no-stop'] ? null : c.eos_token_id;
      const ids: number[] = [];
      let printed = '';
      const onToken = values.json ? undefined : (id: number) => {
        ids.push(id);
        // Decode everything so far and print the new suffix; hold back an incomplete UTF-8 sequence.
        const text = tok.decode(ids);
        if (text.endsWith('\uFFFD')) return;
        if (text.startsWith(printed)) process.stdout.write(text.slice(printed.length));
        printed = text;
      };
      if (!values.json) process.stdout.write(prompt);
      const out = sample(model, promptIds, { maxNewTokens, temperature, topK, seed, stopTokenId: stop, ...(onToken ? { onToken } : {}) });
      if (values.json) console.log(JSON.stringify({ prompt_ids: promptIds, ids: out, text: tok.decode(out) }));
      else process.stdout.write('\n');
    } finally {
      model.dispose();
    }
    return 0;
  },
};
