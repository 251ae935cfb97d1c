// `lrnn train RECIPE [--resume RUN_DIR] [--section.key=value …]`: load and validate the recipe (nothing is
// written when it is bad: exit 2 naming the key), open the data (preparing the built-in mix when missing),
// build the logger and progress bar, run src/train/trainer.ts, print the final evaluation.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../config/load.ts';
import type { RunConfig } from '../config/schema.ts';
import { createLogger } from '../log/logger.ts';
import { ProgressBar } from '../log/progress.ts';
import { textTable } from '../eval/table.ts';
import { checkResumeModel, latestCheckpoint, RESOLVED_CONFIG_FILE, ResumeError } from '../train/checkpointing.ts';
import { readConfig } from '../models/checkpoint.ts';
import { DataConfigError, openRunData } from '../train/data.ts';
import { modelConfigFromRecipe } from '../train/model_config.ts';
import type { DataCursor } from '../train/sources.ts';
import { train } from '../train/trainer.ts';
import { parseFlags, type Command } from './command.ts';
import { UsageError } from './errors.ts';

const CONFIG_KEY = /^--(name|out_dir|backend|(model|data|train|eval|checkpoint|log)\.[A-Za-z0-9_.]+)=/;

export const trainCommand: Command = {
  name: 'train',
  summary: 'pretrain a model from a recipe (recipes/*.toml), with exact resume',
  usage: `Usage: lrnn train RECIPE [--section.key=value …] [--no-prepare] [--json]
       lrnn train --resume RUN_DIR [--section.key=value …]

RECIPE is a file or a name in recipes/ (tiny, default, deltanet-small, deltanet-small-negeig, mamba-small,
mamba-small-negeig, deltanet-340m[-negeig], mamba-370m[-negeig]). Overrides are typed by the schema, e.g.
  lrnn train default --train.steps=200 --model.allow_neg_eigval=true --train.betas=[0.9,0.99]
The run folder is <out_dir>/<name> (default checkpoints/<recipe name>): config.resolved.toml,
metrics.jsonl (one JSON line per step: the contract of 'lrnn compare'), train.log (pino JSON lines) and
checkpoint-<step>/ folders (checkpoint-format.md; keep_last newest plus checkpoint-best).
When data.dir has no dataset, the built-in text+code+math mix is prepared first (unless --no-prepare).
--resume continues the newest checkpoint of RUN_DIR exactly (weights, AdamW moments, step, data cursor,
RNG); overrides then apply on top of the run's config.resolved.toml. Ctrl-C stops after the current step
and writes a checkpoint. Exit codes: 0 done, 1 failure or too many NaN/Inf steps, 2 bad recipe or input,
130 interrupted.`,
  async run(argv) {
    const overrides = argv.filter((a) => CONFIG_KEY.test(a));
    const { values, positionals } = parseFlags(argv.filter((a) => !CONFIG_KEY.test(a)), {
      resume: { type: 'string' },
      'no-prepare': { type: 'boolean' },
    }, true);
    if (positionals.length > 1) throw new UsageError(`expected one RECIPE, got ${positionals.join(' ')}`);
    if (!values.resume && positionals.length === 0) throw new UsageError('missing RECIPE (e.g. lrnn train tiny); see lrnn train --help');
    if (values.resume && positionals.length) throw new UsageError('give either RECIPE or --resume RUN_DIR, not both (a resumed run uses its own config.resolved.toml)');

    // --- configuration (nothing is written until it and the data are known to be good)
    let config: RunConfig;
    let resume: ReturnType<typeof latestCheckpoint> | undefined;
    let runDir: string;
    try {
      if (values.resume) {
        const file = path.join(values.resume, RESOLVED_CONFIG_FILE);
        if (!existsSync(file)) throw new UsageError(`--resume ${values.resume}: no ${RESOLVED_CONFIG_FILE} (not a run folder of lrnn train)`);
        config = loadConfig(file, overrides).config;
        runDir = values.resume;
        try {
          resume = latestCheckpoint(runDir);
        } catch (e) {
          throw new UsageError(`--resume: ${(e as Error).message}`);
        }
      } else {
        config = loadConfig(positionals[0]!, overrides).config;
        runDir = path.join(config.out_dir, config.name);
        if (existsSync(path.join(runDir, 'metrics.jsonl'))) {
          throw new UsageError(`run folder ${runDir} already has a run: continue it with --resume ${runDir}, or pick another --name=...`);
        }
      }
    } catch (e) {
      if (e instanceof ConfigError) throw new UsageError(e.message);
      throw e;
    }

    const { initBackend } = await import('../backend/index.ts');
    // One BLAS thread per process: scale out with ranks (lrnn launch), one per core. A busy second core makes
    // 2-thread BLAS slower than 1 (backends.md §8). LRNN_BLAS_THREADS=N overrides.
    const { getWorld } = await import('../parallel/mpi.ts');
    const world = getWorld();
    const main = world.rank === 0;
    await initBackend({ backend: config.backend, blasThreads: Number(process.env.LRNN_BLAS_THREADS ?? 1) });
    if (main && !values.resume && !values['no-prepare'] && !existsSync(path.join(config.data.dir, 'manifest.json'))) {
      const { prepareDataset } = await import('../data/index.ts');
      process.stderr.write(`lrnn train: ${config.data.dir} has no dataset; preparing the built-in text+code+math mix (once)\n`);
      const rep = await prepareDataset({ out: config.data.dir, log: (m) => process.stderr.write(`prepare: ${m}\n`) });
      if (rep.errors.length) throw new Error(`preparing ${config.data.dir} failed:\n  ${rep.errors.join('\n  ')}`);
    }
    let run, modelConfig;
    try {
      if (world.size > 1) world.barrier(); // rank 0 may have been preparing the data
      run = await openRunData(config, resume?.state.data_cursor as DataCursor | undefined, { rank: world.rank, worldSize: world.size });
      modelConfig = modelConfigFromRecipe(config.model, run.vocabSize);
    } catch (e) {
      if (e instanceof DataConfigError || /^model\./.test((e as Error).message)) throw new UsageError((e as Error).message);
      throw e;
    }
    if (resume) {
      try {
        checkResumeModel(resume.dir, readConfig(resume.dir), modelConfig);
      } catch (e) {
        await run.data.close?.();
        throw e instanceof ResumeError ? new UsageError(e.message) : e;
      }
    }

    // --- logger, progress bar, Ctrl-C
    const bar = new ProgressBar({ total: config.train.steps, startStep: resume?.state.step ?? 0, enabled: main ? config.log.progress : false });
    const { log } = main
      ? createLogger({ level: config.log.level, file: path.join(runDir, 'train.log'), terminal: values.json ? (l) => process.stderr.write(l) : (l) => bar.print(l), base: { run: config.name } })
      : createLogger({ level: 'warn', terminal: (l) => process.stderr.write(l), base: { run: config.name, rank: world.rank } });
    const ac = new AbortController();
    const onSigint = () => {
      if (ac.signal.aborted) process.exit(130);
      ac.abort();
      process.stderr.write('\nlrnn train: stopping after this step (Ctrl-C again to quit now)\n');
    };
    process.on('SIGINT', onSigint);
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
        tokenizer: { file: run.tokenizerFile }, log, signal: ac.signal, world, ...(resume ? { resume } : {}),
        onEvent: (e) => {
          if (e.kind === 'step' && watch) world.watchdog(e.step + 1, stepTimeoutMs);
          if (e.kind === 'step' && hangAt && hangAt.rank === world.rank && hangAt.step === e.step) hang();
          if (e.kind === 'step') bar.update({ step: e.step, loss: e.loss, tokensPerSec: e.tokensPerSec });
          if (e.kind === 'done') bar.done();
        },
      });
    } finally {
      if (watch) world.watchdog(0, 0);
      process.off('SIGINT', onSigint);
      await run.data.close?.();
    }

    // --- summary
    if (!main) return result.status === 'completed' ? 0 : 1;
    if (values.json) {
      console.log(JSON.stringify({ run_dir: runDir, ...result }));
    } else {
      const lines = [`run ${runDir}: ${result.status} at step ${result.step} (${result.tokensSeen.toLocaleString('en-US')} tokens, ` +
        `${Math.round(result.meanTokensPerSec).toLocaleString('en-US')} tokens/s, peak RSS ${Math.round(result.peakRssMb)} MB, ` +
        `${result.nonfiniteCount} skipped NaN/Inf steps, ${result.spikeCount} loss spikes)`];
      if (result.lastEval) {
        lines.push(textTable(['split', 'tokens', 'loss', 'ppl', 'bpb'], Object.entries(result.lastEval).map(([k, s]) => [k, s.tokens, s.loss, s.ppl, s.bpb])));
      }
      if (result.lastCheckpoint) lines.push(`checkpoint: ${result.lastCheckpoint}  (lrnn eval --checkpoint ${result.lastCheckpoint})`);
      console.log(lines.join('\n'));
    }
    if (result.status === 'stopped_nonfinite') {
      console.error(`lrnn train: stopped: ${result.nonfiniteCount} NaN/Inf steps (train.max_nonfinite_steps = ${config.train.max_nonfinite_steps}); see ${path.join(runDir, 'metrics.jsonl')}`);
      return 1;
    }
    return result.status === 'interrupted' ? 130 : 0;
  },
};

/** Test hook LRNN_TEST_HANG_AT=RANK:STEP — that rank stalls after that step (the watchdog test). */
function parseHangHook(v: string | undefined): { rank: number; step: number } | null {
  const m = v ? /^(\d+):(\d+)$/.exec(v) : null;
  return m ? { rank: Number(m[1]), step: Number(m[2]) } : null;
}

function hang(): void {
  const until = Date.now() + 3_600_000;
  while (Date.now() < until) { /* a rank stuck between steps */ }
}
