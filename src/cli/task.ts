// `lrnn task train RECIPE` and `lrnn task eval`: the paper's state-tracking tasks (parity, modular
// arithmetic with and without brackets, S5 word problems) on DeltaNet and Mamba, with generated or
// user-supplied test sets (JSON lines in symbols).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { initBackend } from '../backend/index.ts';
import { ConfigError } from '../config/load.ts';
import { loadCheckpoint } from '../models/checkpoint.ts';
import { evaluateExamples, type TaskEvalResult } from '../tasks/evaluate.ts';
import { STREAMS, TASKS, exampleFromSymbols, getTask, makeExamples, type Example, type Task } from '../tasks/index.ts';
import { loadTaskConfig } from '../tasks/schema.ts';
import { TASK_FILE, trainTask, type TaskCheckpointInfo } from '../tasks/train.ts';
import { type Command, numberFlag, parseFlags } from './command.ts';
import { asUsage, UsageError } from './errors.ts';
import { onStopSignals } from './signals.ts';

const taskList = Object.entries(TASKS).map(([k, t]) => `  ${k.padEnd(24)} ${t.description}`).join('\n');

export const taskTrain: Command = {
  name: 'task train',
  summary: 'train a model on a state-tracking task (parity, modular arithmetic, S5) from a task recipe',
  usage: `Usage: lrnn task train RECIPE [--section.key=value ...] [--json]

RECIPE is a TOML file or a name in recipes/tasks/ (e.g. parity-deltanet-negeig). Overrides use the recipe's
key paths, e.g. --train.steps=200 --train.seed=1 --model.allow_neg_eigval=true --task.test_examples=256.
Examples are generated fresh every step from (train.seed, index): lengths task.train_min_len..train_max_len,
or, with task.curriculum_steps=N, a longest length growing from train_min_len+2 to train_max_len over the
first N steps; task.bucket_batches=N re-cuts N batches by length to save padding (same examples).
task.eval_every=N scores the test set (and task.valid_examples at training lengths) every N steps.
At the end the model is scored on task.test_examples examples of lengths test_min_len..test_max_len and saved
to out_dir/name/final (config.json, model.safetensors, task.json); progress goes to stderr and
out_dir/name/metrics.jsonl. --json prints the summary as one JSON object.
Ctrl-C or SIGTERM stops after the current step and saves the model so far (status "interrupted" in
task.json and metrics.jsonl, no test evaluation); a second one quits at once. Exit codes: 0 done, 1
failure or too many NaN/Inf steps, 2 bad recipe, 130 interrupted by SIGINT, 143 by SIGTERM.

Tasks:
${taskList}`,
  async run(argv) {
    let json = false;
    const positionals: string[] = [];
    const overrides: string[] = [];
    for (const a of argv) {
      if (a === '--json') json = true;
      else if (a.startsWith('--')) overrides.push(a);
      else positionals.push(a);
    }
    if (positionals.length !== 1) throw new UsageError(`expected one RECIPE, got ${positionals.length ? positionals.join(' ') : 'none'}`);
    let config;
    try {
      config = loadTaskConfig(positionals[0]!, overrides).config;
    } catch (e) {
      if (e instanceof ConfigError) throw new UsageError(e.message);
      throw e;
    }
    await initBackend({ backend: config.backend });
    const stop = onStopSignals('lrnn task train', 'after this step, saving the model so far');
    let r;
    try {
      r = await trainTask(config, { log: (l) => process.stderr.write(l + '\n'), signal: stop.signal });
    } finally {
      stop.dispose();
    }
    const summary = {
      name: config.name, task: config.task.name, arch: config.model.arch, allow_neg_eigval: config.model.allow_neg_eigval,
      seed: config.train.seed, steps: r.steps, batch_size: config.train.batch_size, wall_s: r.wallS,
      final_train_loss: Number.isFinite(r.finalTrainLoss) ? r.finalTrainLoss : null,
      test: r.test ? { accuracy: r.test.accuracy, scaled_accuracy: r.test.scaledAccuracy, ...(r.test.sequenceAccuracy !== undefined ? { sequence_accuracy: r.test.sequenceAccuracy } : {}), examples: r.test.examples, min_length: r.test.minLength, max_length: r.test.maxLength } : null,
      checkpoint: r.checkpointDir,
    };
    if (json) console.log(JSON.stringify(summary));
    else console.log(`${config.name}: ${r.status === 'completed' ? '' : `${r.status}, `}${config.task.name} test scaled accuracy ${r.test?.scaledAccuracy.toFixed(4) ?? '-'} (accuracy ${r.test?.accuracy.toFixed(4) ?? '-'}), ${r.steps} steps in ${r.wallS.toFixed(0)} s; checkpoint ${r.checkpointDir}`);
    r.model.dispose();
    return r.status === 'interrupted' ? stop.exitCode() ?? 130 : r.status === 'stopped_nonfinite' ? 1 : 0;
  },
};

/** Reads a JSON-lines test set in symbols; errors name the file and line. */
export function readJsonlExamples(file: string, task: Task): Example[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--data ${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const out: Example[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const where = `${file}:${i + 1}`;
    let obj: { tokens?: unknown; answer?: unknown };
    try {
      obj = JSON.parse(line);
    } catch (e) {
      throw new UsageError(`${where}: invalid JSON (${(e as Error).message})`);
    }
    const { tokens, answer } = obj ?? {};
    if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === 'string')) throw new UsageError(`${where}: "tokens" must be an array of symbol strings`);
    if (!(typeof answer === 'string' || (Array.isArray(answer) && answer.every((a) => typeof a === 'string')))) throw new UsageError(`${where}: "answer" must be a symbol string${task.kind === 'sequence' ? ' array' : ''}`);
    try {
      out.push(exampleFromSymbols(task, tokens, answer as string | string[], where));
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  });
  if (out.length === 0) throw new UsageError(`--data ${file}: no examples`);
  return out;
}

/** The checkpoint folder holding task.json: DIR itself or DIR/final (a run folder). */
function resolveTaskCheckpoint(dir: string): { dir: string; info: TaskCheckpointInfo } {
  for (const d of [dir, path.join(dir, 'final')]) {
    const file = path.join(d, TASK_FILE);
    if (!existsSync(file)) continue;
    try {
      return { dir: d, info: JSON.parse(readFileSync(file, 'utf8')) as TaskCheckpointInfo };
    } catch (e) {
      throw new UsageError(`${file}: invalid JSON (${(e as Error).message})`);
    }
  }
  // Without task.json nothing says which symbols the ids mean: scoring would print a meaningless accuracy.
  if (existsSync(path.join(dir, 'config.json'))) throw new UsageError(`--checkpoint ${dir}: no ${TASK_FILE} there, so not a checkpoint of 'lrnn task train' (a language model? use lrnn eval)`);
  throw new UsageError(`--checkpoint ${dir}: no ${TASK_FILE} there (nor in ${path.join(dir, 'final')})`);
}

function bucketRows(r: TaskEvalResult, width: number): string[] {
  const buckets = new Map<number, { n: number; c: number }>();
  for (const [len, row] of Object.entries(r.byLength)) {
    const b = r.minLength + Math.floor((Number(len) - r.minLength) / width) * width;
    const e = buckets.get(b) ?? { n: 0, c: 0 };
    e.n += row.n; e.c += row.correct;
    buckets.set(b, e);
  }
  return [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([b, e]) => `  ${String(b).padStart(4)}-${String(b + width - 1).padEnd(4)} ${String(e.n).padStart(6)} ${(e.c / e.n).toFixed(4)}`);
}

export const taskEval: Command = {
  name: 'task eval',
  summary: 'score a task checkpoint on generated or user-supplied (JSON lines) test sets',
  usage: `Usage: lrnn task eval --checkpoint DIR --task T [--min-len N] [--max-len N] [--n N] [--seed N]
                      [--data FILE.jsonl] [--batch-size N] [--json]

DIR is a checkpoint folder written by 'lrnn task train' (the run folder or its final/), holding task.json
(a checkpoint without it, such as a language model's, is refused with exit 2). Without --data, --n examples
(default 512) of lengths --min-len..--max-len (default 40..256, the paper's test range) are generated from
--seed (default 1000, the recipes' test_seed). With --data, each line is one example in
symbols; the model predicts the answer right after the last token:
  {"tokens": ["1","0","1"], "answer": "0"}                                  parity
  {"tokens": ["2","-","3","-","3","*","2","="], "answer": "3"}              modular (digits 0-4, + - * ( ) =)
  {"tokens": ["10234","01324"], "answer": ["10234","10324"]}                s5, s5_swaps (one label per token)
Lengths count the answer token (a user example of k tokens has length k + 1); --min-len/--max-len filter them.
Prints accuracy, scaled accuracy (acc − r)/(1 − r) (r = 1/2 parity, 1/5 modular) and counts by length;
--json prints them as one JSON object (by_length has every length).

Tasks:
${taskList}`,
  async run(argv) {
    const { values } = parseFlags(argv, {
      checkpoint: { type: 'string' }, task: { type: 'string' }, 'min-len': { type: 'string' }, 'max-len': { type: 'string' },
      n: { type: 'string' }, seed: { type: 'string' }, data: { type: 'string' }, 'batch-size': { type: 'string' },
    });
    if (!values.checkpoint) throw new UsageError('--checkpoint DIR is required');
    if (!values.task) throw new UsageError(`--task is required (one of ${Object.keys(TASKS).join(', ')})`);
    let task: Task;
    try {
      task = getTask(values.task);
    } catch (e) {
      throw new UsageError(`--task: ${(e as Error).message}`);
    }
    const { dir, info } = resolveTaskCheckpoint(values.checkpoint);
    if (info && info.vocab.join('\u0000') !== task.vocab.symbols.join('\u0000')) {
      throw new UsageError(`--task ${task.name}: the checkpoint was trained on task '${info.task}', whose vocabulary differs`);
    }
    const minLen = numberFlag('min-len', values['min-len'], values.data ? 1 : task.lengths.test[0], { int: true, min: 1 });
    const maxLen = numberFlag('max-len', values['max-len'], values.data ? Number.MAX_SAFE_INTEGER : task.lengths.test[1], { int: true, min: 1 });
    if (minLen > maxLen) throw new UsageError(`--min-len ${minLen} exceeds --max-len ${maxLen}`);
    const n = numberFlag('n', values.n, 512, { int: true, min: 1 });
    const seed = numberFlag('seed', values.seed, 1000, { int: true, min: 0 });
    const batchSize = numberFlag('batch-size', values['batch-size'], 64, { int: true, min: 1 });
    let examples = values.data ? readJsonlExamples(values.data, task) : makeExamples(task, seed, STREAMS.test, 0, n, minLen, maxLen);
    if (values.data) {
      examples = examples.filter((e) => e.length >= minLen && e.length <= maxLen);
      if (examples.length === 0) throw new UsageError(`--data ${values.data}: no example has a length in ${minLen}..${maxLen}`);
    }
    await initBackend();
    let model;
    try {
      model = loadCheckpoint(dir);
    } catch (e) {
      throw asUsage(e);
    }
    if (model.config.vocab_size < task.vocab.size) throw new UsageError(`--task ${task.name}: needs a vocabulary of ${task.vocab.size}, the checkpoint has ${model.config.vocab_size}`);
    const r = evaluateExamples(model, task, examples, batchSize);
    model.dispose();
    if (values.json) {
      console.log(JSON.stringify({
        checkpoint: dir, task: task.name, source: values.data ?? { generated: { seed, n, min_len: minLen, max_len: maxLen } },
        examples: r.examples, tokens: r.tokens, correct: r.correct, accuracy: r.accuracy, chance: r.chance, scaled_accuracy: r.scaledAccuracy,
        ...(r.sequenceAccuracy !== undefined ? { sequence_accuracy: r.sequenceAccuracy } : {}),
        min_length: r.minLength, max_length: r.maxLength, by_length: r.byLength,
      }));
      return 0;
    }
    console.log(`${task.name} on ${values.data ?? `${r.examples} generated examples (seed ${seed})`}, lengths ${r.minLength}-${r.maxLength}`);
    console.log(`accuracy ${r.accuracy.toFixed(4)} (${r.correct}/${r.tokens})  scaled accuracy ${r.scaledAccuracy.toFixed(4)} (chance ${r.chance.toFixed(4)})${r.sequenceAccuracy !== undefined ? `  sequence accuracy ${r.sequenceAccuracy.toFixed(4)}` : ''}`);
    console.log('  lengths        count accuracy');
    for (const line of bucketRows(r, r.maxLength - r.minLength > 64 ? 32 : 1)) console.log(line);
    return 0;
  },
};
