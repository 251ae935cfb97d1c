// `lrnn train RECIPE [--resume RUN_DIR] [--section.key=value …]`: load and validate the recipe, open the
// data (preparing the built-in mix when the default data.dir is empty), check the model against the data and
// the machine (preflight.ts; nothing is written when anything is bad: exit 2 naming the key or path), clean
// or set aside what interrupted runs left, build the logger and progress bar, run src/train/trainer.ts until
// done or a signal (signals.ts: exit 130/143 after a checkpoint), print the final evaluation.
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, listRecipes, loadConfig } from '../config/load.ts';
import type { RunConfig } from '../config/schema.ts';
import { createLogger } from '../log/logger.ts';
import { ProgressBar } from '../log/progress.ts';
import { textTable } from '../eval/table.ts';
import { cleanRunDir, latestCheckpoint, RESOLVED_CONFIG_FILE } from '../train/checkpointing.ts';
import { readConfig } from '../models/checkpoint.ts';
import { modelConfigFromRecipe } from '../models/config.ts';
import { loadTokenizer } from '../tokenizer/tokenizer_json.ts';
import { DataConfigError, openRunData } from '../train/data.ts';
import type { DataCursor } from '../train/sources.ts';
import { train } from '../train/trainer.ts';
import { parseFlags, type Command } from './command.ts';
import { asUsage, UsageError } from './errors.ts';
import { checkModel, checkpointBytes, checkRunDir, clearFailedRun, runDirState } from './preflight.ts';
import { closingEval } from './closing_eval.ts';
import { onStopSignals } from './signals.ts';
import { coreCount, mpirunWorks, planProcs, underMpi } from './spread.ts';
import { runMpirun } from './launch.ts';
import { mpirunCommand } from '../parallel/launch.ts';

const CONFIG_KEY = /^--(name|out_dir|backend|(model|data|train|eval|checkpoint|log)\.[A-Za-z0-9_.]+)=/;

/** Recipe names for the usage text, a recipe and its -negeig twin as one entry: 'mamba-small[-negeig]'. */
export function recipeNamesText(names: readonly string[]): string {
  const have = new Set(names);
  const twin = (n: string) => n.endsWith('-negeig') && have.has(n.slice(0, -'-negeig'.length));
  return names.filter((n) => !twin(n)).map((n) => (have.has(`${n}-negeig`) ? `${n}[-negeig]` : n)).join(', ');
}

/** Greedy word wrap at `width` columns (the usage text's line length). */
function wrap(text: string, width = 104): string {
  const lines: string[] = [];
  let line = '';
  for (const w of text.split(' ')) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  return [...lines, line].join('\n');
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'pretrain a model from a recipe (recipes/*.toml), with exact resume',
  // A getter, so the recipe list is whatever recipes/ holds when --help is asked for.
  get usage() {
    return `Usage: lrnn train RECIPE [--section.key=value …] [--procs N|auto] [--no-prepare] [--verify] [--json]
       lrnn train --resume RUN_DIR [--section.key=value …]

${wrap(`RECIPE is a file or a name in recipes/ (${recipeNamesText(listRecipes()) || 'none found there'}).`)}
Overrides are typed by the schema, e.g.
  lrnn train default --train.steps=200 --model.allow_neg_eigval=true --train.betas=[0.9,0.99]
The run folder is <out_dir>/<name> (default checkpoints/<recipe name>): config.resolved.toml,
metrics.jsonl (one JSON line per step: the contract of 'lrnn compare'), train.log (pino JSON lines) and
checkpoint-<step>/ folders (docs/checkpoint-format.md; keep_last newest plus checkpoint-best).
When the default data.dir (data/lrnn-mix) has no dataset, the built-in text+code+math mix is prepared first
(unless --no-prepare); any other data.dir must hold a dataset already ('lrnn prepare --out DIR').
By default the run uses every core: as N data-parallel MPI ranks (N the largest divisor of train.batch_size
not above the core count) that share each batch (train.split_batch_over_ranks), so it takes the same
steps as one process would, or, without MPI, one process with a BLAS thread per core. --procs 1 (or
LRNN_PROCS=1) pins one process and one thread; --procs N asks for N ranks.
Every shard the run reads must have the size its manifest.json records; --verify also checks each one's
sha256 (a full read) before the first step.
Before the first step the recipe is checked against the data and the machine (vocab_size not below the
tokenizer's, shapes, memory, a writable run folder, free disk for one checkpoint). A run that stopped before
its first checkpoint is replaced by a plain re-run; a checkpointed one is continued with --resume.
A run that completes ends with its test perplexity: the run's checkpoint (as lrnn eval picks it) scored on
the test split of each eval split, eval.final_tokens tokens each (default 65,536; 0 = skip), the same
number as 'lrnn eval --checkpoint RUN_DIR --max-tokens N', saved in RUN_DIR/eval/.
--resume continues the newest checkpoint of RUN_DIR exactly (weights, AdamW moments, step, data cursor,
RNG); overrides then apply on top of the run's config.resolved.toml, temp folders of interrupted saves are
cleaned, and a damaged newest checkpoint is set aside (checkpoint-<step>.damaged) for the newest intact one.
Ctrl-C or SIGTERM stops after the current step and writes a checkpoint (status "interrupted"); a second
one quits at once. Exit codes: 0 done, 1 failure or too many NaN/Inf steps, 2 bad recipe or input,
130 interrupted by SIGINT, 143 by SIGTERM.`;
  },
  async run(argv) {
    const overrides = argv.filter((a) => CONFIG_KEY.test(a));
    const { values, positionals } = parseFlags(argv.filter((a) => !CONFIG_KEY.test(a)), {
      resume: { type: 'string' },
      'no-prepare': { type: 'boolean' },
      verify: { type: 'boolean' },
      procs: { type: 'string' },
    }, true);
    if (positionals.length > 1) throw new UsageError(`expected one RECIPE, got ${positionals.join(' ')}`);
    if (!values.resume && positionals.length === 0) throw new UsageError('missing RECIPE (e.g. lrnn train tiny); see lrnn train --help');
    if (values.resume && positionals.length) throw new UsageError('give either RECIPE or --resume RUN_DIR, not both (a resumed run uses its own config.resolved.toml)');

    // --- configuration (nothing is written until it and the data are known to be good)
    let config: RunConfig;
    let resume: ReturnType<typeof latestCheckpoint> | undefined;
    let runDir: string;
    let replaceFailed = false;
    const notes: string[] = []; // warnings found before the logger exists; also written to train.log
    const warn = (m: string) => { notes.push(m); process.stderr.write(`lrnn train: warning: ${m}\n`); };
    try {
      if (values.resume) {
        const file = path.join(values.resume, RESOLVED_CONFIG_FILE);
        if (!existsSync(file)) throw new UsageError(`--resume ${values.resume}: no ${RESOLVED_CONFIG_FILE} (not a run folder of lrnn train)`);
        config = loadConfig(file, overrides).config;
        runDir = values.resume;
        for (const m of cleanRunDir(runDir)) warn(m);
        try {
          resume = latestCheckpoint(runDir, warn);
        } catch (e) {
          const m = (e as Error).message;
          throw new UsageError(`--resume: ${m}${/no (intact )?checkpoint/.test(m) ? `; to start the run over, run the recipe again without --resume` : ''}`);
        }
      } else {
        config = loadConfig(positionals[0]!, overrides).config;
        runDir = path.join(config.out_dir, config.name);
        const st = runDirState(runDir);
        if (st === 'taken') throw new UsageError(`run folder ${runDir} already has a run: continue it with --resume ${runDir}, or pick another --name=...`);
        replaceFailed = st === 'replace';
      }
    } catch (e) {
      if (e instanceof ConfigError) throw new UsageError(e.message);
      throw e;
    }

    // --- every core (spread.ts): this command again as MPI ranks sharing the batch, unless it is a rank already.
    // One BLAS thread per rank: a busy second core makes 2-thread BLAS slower than 1 (measured 90 vs 121
    // GFLOP/s). LRNN_BLAS_THREADS=N overrides.
    let blasThreads = 1;
    if (!underMpi()) {
      const { mpiAvailable } = await import('../parallel/mpi.ts');
      const plan = planProcs(values.procs, config.train.batch_size, coreCount(), mpiAvailable() && mpirunWorks());
      if (plan.ranks > 1) {
        if (!values.resume) await ensureData(config, !!values['no-prepare']); // before the ranks start, so none waits on it
        const { cmd, args, env } = mpirunCommand({ nproc: plan.ranks, command: ['train', ...argv, '--train.split_batch_over_ranks=true'] });
        process.stderr.write(`lrnn train: ${plan.why}; --procs 1 runs one process\n`);
        return await runMpirun(cmd, args, env, 'lrnn train');
      }
      blasThreads = plan.blasThreads;
    }
    const { initBackend } = await import('../backend/index.ts');
    const { getWorld } = await import('../parallel/mpi.ts');
    const world = getWorld();
    const main = world.rank === 0;
    await initBackend({ backend: config.backend, blasThreads: Number(process.env.LRNN_BLAS_THREADS ?? blasThreads) });
    if (main && !values.resume) await ensureData(config, !!values['no-prepare']);
    let run, modelConfig;
    try {
      if (world.size > 1) world.barrier(); // rank 0 may have been preparing the data
      const onVerify = main && process.stderr.isTTY ? (done: number, total: number) => process.stderr.write(`\rverify: ${(done / 2 ** 20).toFixed(0)} / ${(total / 2 ** 20).toFixed(0)} MB${done === total ? '\n' : ''}`) : undefined;
      run = await openRunData(config, resume?.state.data_cursor as DataCursor | undefined, { rank: world.rank, worldSize: world.size }, { verify: !!values.verify, ...(onVerify ? { onVerify } : {}) });
      try {
        modelConfig = modelConfigFromRecipe(config.model, run.vocabSize);
      } catch (e) {
        throw new UsageError((e as Error).message); // [model] values that do not fit together, naming the keys
      }
      // End of text (the separator between training documents) is the model's eos and its bos: generation
      // stops at it and an empty prompt starts from it. A resumed run keeps what its checkpoint says.
      const eot = resume ? -1 : loadTokenizer(run.tokenizerFile).eosId;
      const ids = resume ? readConfig(resume.dir) : { eos_token_id: eot, bos_token_id: eot };
      modelConfig.eos_token_id = ids.eos_token_id != null && ids.eos_token_id >= 0 ? ids.eos_token_id : null;
      modelConfig.bos_token_id = ids.bos_token_id != null && ids.bos_token_id >= 0 ? ids.bos_token_id : null;
      const params = checkModel(modelConfig, run.vocabSize, config.model.vocab_size);
      if (main) checkRunDir(runDir, checkpointBytes(params));
    } catch (e) {
      await run?.data.close?.();
      if (e instanceof DataConfigError) throw new UsageError((e as Error).message);
      throw asUsage(e);
    }
    if (main && replaceFailed) {
      clearFailedRun(runDir);
      warn(`${runDir} holds no intact checkpoint (its run stopped before the first one, or they are damaged): starting the run over`);
    }
    if (main && !resume) for (const m of cleanRunDir(runDir)) warn(m);

    // --- logger, progress bar, Ctrl-C
    const bar = new ProgressBar({ total: config.train.steps, startStep: resume?.state.step ?? 0, enabled: main ? config.log.progress : false });
    const { log } = main
      ? createLogger({ level: config.log.level, file: path.join(runDir, 'train.log'), terminal: values.json ? (l) => process.stderr.write(l) : (l) => bar.print(l), base: { run: config.name } })
      : createLogger({ level: 'warn', terminal: (l) => process.stderr.write(l), base: { run: config.name, rank: world.rank } });
    for (const m of notes) log.warn(m);
    const stop = onStopSignals('lrnn train', 'after this step, writing a checkpoint');
    // Data parallel: a native watchdog aborts the whole job, naming this rank and step, when no step completes
    // within LRNN_STEP_TIMEOUT_S (default 600 s, evaluation and checkpoint included): a hung or dead peer
    // otherwise leaves every other rank blocked in MPI forever.
    const stepTimeoutMs = Number(process.env.LRNN_STEP_TIMEOUT_S ?? 600) * 1000;
    const watch = world.size > 1 && stepTimeoutMs > 0;
    if (watch) world.watchdog((resume?.state.step ?? 0) + 1, stepTimeoutMs);
    const hangAt = parseHangHook(process.env.LRNN_TEST_HANG_AT);
    let result;
    try {
      result = await train({
        config, runDir, modelConfig, data: run.data, evalData: run.evalData, tokenBytes: run.tokenBytes,
        tokenizer: { file: run.tokenizerFile }, log, signal: stop.signal, world, ...(resume ? { resume } : {}),
        onEvent: (e) => {
          if (e.kind === 'step' && watch) world.watchdog(e.step + 1, stepTimeoutMs);
          if (e.kind === 'step' && hangAt && hangAt.rank === world.rank && hangAt.step === e.step) hang();
          if (e.kind === 'step') bar.update({ step: e.step, loss: e.loss, tokensPerSec: e.tokensPerSec });
          if (e.kind === 'done') bar.done();
        },
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      // A full disk names the run folder when the error itself names no file.
      if (err.code === 'ENOSPC' && !err.message.includes(path.sep)) err.message = `${err.message} (writing in ${runDir})`;
      log.error({ status: 'failed', err: err.message }, `run failed: ${err.message}`);
      throw asUsage(e);
    } finally {
      if (watch) world.watchdog(0, 0);
      stop.dispose();
      await run.data.close?.();
    }
    // No rank leaves before rank 0 has written its checkpoint: mpirun ends the whole job (SIGTERM, which
    // would be a second signal) as soon as one rank exits non-zero.
    // Under MPI an interrupted rank exits 0: mpirun answers the first non-zero exit by aborting the job, which
    // left rank 0 stuck in MPI_Finalize until SIGKILL. lrnn launch itself exits 130/143.
    if (world.size > 1) world.barrier();
    const interrupted = result.status === 'interrupted' && world.size === 1 ? stop.exitCode() ?? 130 : 0;

    // --- summary
    if (!main) return result.status === 'stopped_nonfinite' ? 1 : interrupted;
    // The closing table (test split, eval.final_tokens per split) for a run that reached its last step.
    let closing = null;
    if (result.status === 'completed') {
      try {
        closing = await closingEval(runDir, config);
      } catch (e) {
        log.warn(`closing evaluation skipped: ${(e as Error).message}`);
      }
    }
    if (values.json) {
      console.log(JSON.stringify({ run_dir: runDir, ...result, ...(closing ? { test: closing.result.splits, test_file: closing.file } : {}) }));
    } else {
      const lines = [`run ${runDir}: ${result.status} at step ${result.step} (${result.tokensSeen.toLocaleString('en-US')} tokens, ` +
        `${Math.round(result.meanTokensPerSec).toLocaleString('en-US')} tokens/s, peak RSS ${Math.round(result.peakRssMb)} MB, ` +
        `${result.nonfiniteCount} skipped NaN/Inf steps, ${result.spikeCount} loss spikes)`];
      if (result.lastEval) {
        lines.push(`validation at the last step (eval.batches = ${config.eval.batches} per split: the quick estimate the run tracks)`);
        lines.push(textTable(['split', 'tokens', 'loss', 'ppl', 'bpb'], Object.entries(result.lastEval).map(([k, s]) => [k, s.tokens, s.loss, s.ppl, s.bpb])));
      }
      if (result.lastCheckpoint) lines.push(`checkpoint: ${result.lastCheckpoint}  (lrnn eval --checkpoint ${result.lastCheckpoint})`);
      if (closing) lines.push(closing.text);
      console.log(lines.join('\n'));
    }
    if (result.status === 'stopped_nonfinite') {
      console.error(`lrnn train: stopped: ${result.nonfiniteCount} NaN/Inf steps (train.max_nonfinite_steps = ${config.train.max_nonfinite_steps}); see ${path.join(runDir, 'metrics.jsonl')}`);
      return 1;
    }
    return interrupted;
  },
};

/**
 * Prepares the built-in mix when the run's data.dir is the default data/lrnn-mix and holds no dataset yet.
 * Only the default folder is prepared implicitly: a mistyped data.dir must not download corpora and write
 * hundreds of MB somewhere unexpected.
 */
async function ensureData(config: RunConfig, noPrepare: boolean): Promise<void> {
  if (existsSync(path.join(config.data.dir, 'manifest.json'))) return;
  if (noPrepare || path.resolve(config.data.dir) !== path.resolve('data/lrnn-mix')) {
    throw new UsageError(`data.dir: '${config.data.dir}' has no manifest.json (no prepared dataset there): run 'lrnn prepare --out ${config.data.dir}' first${noPrepare ? '' : ' (lrnn train prepares only the default data/lrnn-mix by itself)'}`);
  }
  const { prepareDataset } = await import('../data/index.ts');
  process.stderr.write(`lrnn train: ${config.data.dir} has no dataset; preparing the built-in text+code+math mix (once)\n`);
  const rep = await prepareDataset({ out: config.data.dir, log: (m) => process.stderr.write(`prepare: ${m}\n`) });
  if (rep.errors.length) throw new Error(`preparing ${config.data.dir} failed:\n  ${rep.errors.join('\n  ')}`);
}

/** Test hook LRNN_TEST_HANG_AT=RANK:STEP — that rank stalls after that step (the watchdog test). */
function parseHangHook(v: string | undefined): { rank: number; step: number } | null {
  const m = v ? /^(\d+):(\d+)$/.exec(v) : null;
  return m ? { rank: Number(m[1]), step: Number(m[2]) } : null;
}

function hang(): void {
  const until = Date.now() + 3_600_000;
  while (Date.now() < until) { /* a rank stuck between steps */ }
}
