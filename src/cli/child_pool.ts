// Runs `lrnn` child processes N at a time for `lrnn sweep`: each child's stdout and stderr go line by line
// to its log file and, prefixed with its name, to our stderr; one child failing does not stop the others.
// Children run in their own process group (detached), so a terminal's Ctrl-C reaches them once, through us:
// the first SIGINT/SIGTERM is passed to every running child (each finishes its step and writes a
// checkpoint, see signals.ts) and no new child starts; a second one is passed on too (the children then quit
// at once). If this process dies anyway, its running children get SIGTERM (they save and stop).
// Test: node scripts/test.mjs src/cli/sweep
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

export interface ChildJob {
  name: string;
  /** Arguments after `node` (e.g. [bin/lrnn.js, 'train', …]). */
  argv: string[];
  logFile: string;
}

export interface ChildEnd {
  /** Exit code, or 128 + signal number when the child was killed by a signal. */
  code: number;
  wall_s: number;
  /** The child's whole stdout (e.g. `lrnn train --json`'s result object). */
  stdout: string;
}

const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;
const SIGNAL_CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGKILL: 137, SIGHUP: 129 };

/** Splits a stream into lines, calling `line` for each complete one (and the rest at the end). */
function lines(stream: NodeJS.ReadableStream, line: (l: string) => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      line(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  stream.on('end', () => { if (buf) line(buf); });
}

/**
 * Runs the jobs, at most `n` at once, in order. Returns the signal that stopped the pool (null when every
 * job ran). `onStart` / `onEnd` are called as children start and exit (jobs never started get neither).
 */
export async function runPool(
  jobs: ChildJob[], n: number,
  hooks: { onStart?: (job: ChildJob) => void; onEnd?: (job: ChildJob, end: ChildEnd) => void; echo?: (line: string) => void },
  what = 'lrnn sweep',
): Promise<NodeJS.Signals | null> {
  const echo = hooks.echo ?? ((l: string) => process.stderr.write(l + '\n'));
  const running = new Map<ChildJob, ChildProcess>();
  let stopped: NodeJS.Signals | null = null;
  const forward = (sig: NodeJS.Signals) => () => {
    const again = stopped !== null;
    stopped ??= sig;
    echo(`\n${what}: ${sig}${again ? ' again' : ''}: passing it to ${running.size} running run(s)${again ? ' (they quit now)' : '; they stop after their current step with a checkpoint, no new run starts (send it again to quit at once)'}`);
    for (const c of running.values()) { try { c.kill(sig); } catch { /* already gone */ } }
  };
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((s) => [s, forward(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  const onExit = () => { for (const c of running.values()) { try { c.kill('SIGTERM'); } catch { /* gone */ } } };
  process.on('exit', onExit);

  const start = (job: ChildJob) => new Promise<void>((resolve) => {
    mkdirSync(path.dirname(job.logFile), { recursive: true });
    appendFileSync(job.logFile, `# ${new Date().toISOString()} ${process.execPath} ${job.argv.join(' ')}\n`);
    const t0 = performance.now();
    const child = spawn(process.execPath, job.argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    running.set(job, child);
    hooks.onStart?.(job);
    let stdout = '';
    // The log file gets plain text: ranks under mpirun write to a pty, so their logger colours its lines.
    const log = (l: string) => appendFileSync(job.logFile, l.replace(ANSI, '') + '\n');
    lines(child.stdout!, (l) => { stdout += l + '\n'; log(l); });
    lines(child.stderr!, (l) => { log(l); echo(`[${job.name}] ${l}`); });
    let ended = false;
    const end = (code: number) => {
      if (ended) return;
      ended = true;
      running.delete(job);
      const e: ChildEnd = { code, wall_s: (performance.now() - t0) / 1000, stdout };
      appendFileSync(job.logFile, `# exit ${code} after ${e.wall_s.toFixed(1)} s\n`);
      hooks.onEnd?.(job, e);
      resolve();
    };
    child.on('error', (err) => { log(`could not start: ${err.message}`); end(1); });
    // 'close' (not 'exit'): every line of output has been read by then.
    child.on('close', (code, signal) => end(code ?? (signal ? SIGNAL_CODES[signal] ?? 1 : 1)));
  });

  try {
    let next = 0;
    const lane = async () => {
      while (stopped === null && next < jobs.length) await start(jobs[next++]!);
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(n, jobs.length)) }, lane));
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
    process.off('exit', onExit);
  }
  return stopped;
}
